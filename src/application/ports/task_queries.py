"""What a task query asks for and what it returns."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.tasks import Task, TaskStatus


class TaskSort(enum.StrEnum):
    """The orders a task list may be sorted in: each one is indexed."""

    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    TITLE = "title"
    STATUS = "status"
    BOUNTY = "bounty"


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskQuery:
    status: TaskStatus | None = None
    assignee_id: UUID | None = None
    creator_id: UUID | None = None
    parent_id: UUID | None = None
    top_level_only: bool = False
    created_after: datetime | None = None
    created_before: datetime | None = None
    title_contains: str | None = None
    include_deleted: bool = False
    sort: TaskSort = TaskSort.CREATED_AT
    descending: bool = False
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class TaskPage:
    tasks: list[Task]
    total: int


@dataclass(frozen=True, slots=True)
class TaskDetails:
    task: Task
    subtasks: list[Task]
    dependencies: list[Task]
