"""A task query applied to tasks in memory, as the SQL adapter applies it in the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from application.ports.task_queries import TaskQuery, TaskSort
from domain.tasks import Task


def matches(task: Task, query: TaskQuery) -> bool:
    checks = (
        query.include_deleted or not task.is_deleted,
        query.status is None or task.status is query.status,
        query.assignee_id is None or task.assignee_id == query.assignee_id,
        query.creator_id is None or task.creator_id == query.creator_id,
        query.parent_id is None or task.parent_id == query.parent_id,
        not query.top_level_only or task.parent_id is None,
        query.created_after is None or task.created_at > query.created_after,
        query.created_before is None or task.created_at < query.created_before,
        query.title_contains is None
        or ascii_lower(query.title_contains) in ascii_lower(task.title),
    )
    return all(checks)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lower case as SQL's lower() does on SQLite: only A-Z, so both adapters match alike."""
    return text.translate(_ASCII_LOWER)


def sort_key(query: TaskQuery) -> Callable[[Task], tuple[Any, ...]]:
    """The sort column, then the id, so that equal values still come in one fixed order."""
    columns: dict[TaskSort, Callable[[Task], Any]] = {
        TaskSort.CREATED_AT: lambda task: task.created_at,
        TaskSort.UPDATED_AT: lambda task: task.updated_at,
        TaskSort.TITLE: lambda task: task.title,
        TaskSort.STATUS: lambda task: task.status.value,
        TaskSort.BOUNTY: lambda task: task.bounty.value,
    }
    column = columns[query.sort]
    return lambda task: (column(task), task.id)
