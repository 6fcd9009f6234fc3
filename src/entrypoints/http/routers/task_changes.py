"""Changing the task board, as each role allows.

The creator of a task assigns, cancels, deletes, restores it and adds its dependencies; its
assignee starts and completes it. New tasks are created by the caller. Every command carries
the caller as its actor, and the use case checks the role inside the unit that makes the
change, so the check cannot go stale before the write.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, status
from pydantic import Field

from application.models import Amount, Command, Description, Title
from application.use_cases.tasks.changing import (
    AddDependencyCommand,
    AssignTaskCommand,
    ChangedTasks,
    ChangeTaskStatusesCommand,
    TaskCommand,
)
from application.use_cases.tasks.creating import (
    MAX_DEPENDENCIES,
    CreatedTasks,
    CreateTaskCommand,
    CreateTasksCommand,
)
from application.views import TaskView, UserView
from domain.tasks import TaskStatus
from entrypoints.http.auth import CurrentUser
from entrypoints.http.dependencies import IdempotencyKey, Keel, scoped_key
from entrypoints.http.problems import problem_responses

MAX_TASKS_PER_REQUEST = 100
"""A request's batch is bounded so that one request cannot hold the write lock for long."""

router = APIRouter(prefix="/tasks", tags=["tasks"])
CHANGE_PROBLEMS = problem_responses(401, 403, 404, 409, 422, 503)
BODY_CHANGE_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 422, 503)  # 400: unparsable


class NewTask(Command):
    """A task the caller creates: `CreateTaskCommand` less the creator, who is the caller."""

    title: Title
    description: Description = ""
    parent_id: UUID | None = None
    dependency_ids: list[UUID] = Field(default_factory=list, max_length=MAX_DEPENDENCIES)
    bounty: Amount | None = None
    task_id: UUID | None = None


class NewTasks(Command):
    tasks: list[NewTask] = Field(min_length=1, max_length=MAX_TASKS_PER_REQUEST)


class Assignment(Command):
    assignee_id: UUID


class Dependency(Command):
    depends_on_id: UUID


class StatusChange(Command):
    task_ids: list[UUID] = Field(min_length=1, max_length=MAX_TASKS_PER_REQUEST)
    status: Literal[TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.CANCELLED]


def created_by(user: UserView, task: NewTask) -> CreateTaskCommand:
    return CreateTaskCommand.model_validate({**task.model_dump(), "creator_id": user.id})


async def change_one_task(
    use_case: Callable[..., Awaitable[TaskView]],
    task_id: UUID,
    user: UserView,
    idempotency_key: str | None,
) -> TaskView:
    """Run a use case that changes task `task_id` and answers with the task as it is now."""
    task: TaskView = await use_case(
        TaskCommand(task_id=task_id, actor_id=user.id),
        idempotency_key=scoped_key(user.id, idempotency_key),
    )
    return task


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=BODY_CHANGE_PROBLEMS,
    summary="Create a task; a bounty is escrowed from the caller's wallet",
)
async def create_task(
    body: NewTask, keel: Keel, user: CurrentUser, idempotency_key: IdempotencyKey = None
) -> TaskView:
    use_case = keel.create_task()
    task: TaskView = await use_case(
        created_by(user, body), idempotency_key=scoped_key(user.id, idempotency_key)
    )
    return task


@router.post(
    "/batch",
    status_code=status.HTTP_201_CREATED,
    responses=BODY_CHANGE_PROBLEMS,
    summary="Create several tasks, all or nothing; later items may refer to earlier ones",
)
async def create_tasks(
    body: NewTasks, keel: Keel, user: CurrentUser, idempotency_key: IdempotencyKey = None
) -> CreatedTasks:
    use_case = keel.create_tasks()
    command = CreateTasksCommand(tasks=[created_by(user, task) for task in body.tasks])
    created: CreatedTasks = await use_case(
        command, idempotency_key=scoped_key(user.id, idempotency_key)
    )
    return created


@router.post(
    "/status-changes",
    responses=BODY_CHANGE_PROBLEMS,
    summary="Move several tasks to one status, all or nothing",
    description="Starting and completing need the caller to be every task's assignee, "
    "cancelling its creator.",
)
async def change_statuses(
    body: StatusChange, keel: Keel, user: CurrentUser, idempotency_key: IdempotencyKey = None
) -> ChangedTasks:
    command = ChangeTaskStatusesCommand(
        task_ids=body.task_ids, status=body.status, actor_id=user.id
    )
    use_case = keel.change_task_statuses()
    changed: ChangedTasks = await use_case(
        command, idempotency_key=scoped_key(user.id, idempotency_key)
    )
    return changed


@router.post("/{task_id}/assign", responses=BODY_CHANGE_PROBLEMS, summary="Assign; creator only")
async def assign_task(
    task_id: UUID,
    body: Assignment,
    keel: Keel,
    user: CurrentUser,
    idempotency_key: IdempotencyKey = None,
) -> TaskView:
    use_case = keel.assign_task()
    task: TaskView = await use_case(
        AssignTaskCommand(task_id=task_id, assignee_id=body.assignee_id, actor_id=user.id),
        idempotency_key=scoped_key(user.id, idempotency_key),
    )
    return task


@router.post("/{task_id}/start", responses=CHANGE_PROBLEMS, summary="Start; assignee only")
async def start_task(
    task_id: UUID, keel: Keel, user: CurrentUser, idempotency_key: IdempotencyKey = None
) -> TaskView:
    return await change_one_task(keel.start_task(), task_id, user, idempotency_key)


@router.post(
    "/{task_id}/complete",
    responses=CHANGE_PROBLEMS,
    summary="Complete; assignee only. The bounty is paid to the assignee",
)
async def complete_task(
    task_id: UUID, keel: Keel, user: CurrentUser, idempotency_key: IdempotencyKey = None
) -> TaskView:
    return await change_one_task(keel.complete_task(), task_id, user, idempotency_key)


@router.post(
    "/{task_id}/cancel",
    responses=CHANGE_PROBLEMS,
    summary="Cancel; creator only. The bounty goes back to the creator",
)
async def cancel_task(
    task_id: UUID, keel: Keel, user: CurrentUser, idempotency_key: IdempotencyKey = None
) -> TaskView:
    return await change_one_task(keel.cancel_task(), task_id, user, idempotency_key)


@router.delete(
    "/{task_id}", responses=CHANGE_PROBLEMS, summary="Soft-delete; creator only. Restorable"
)
async def delete_task(
    task_id: UUID, keel: Keel, user: CurrentUser, idempotency_key: IdempotencyKey = None
) -> TaskView:
    return await change_one_task(keel.delete_task(), task_id, user, idempotency_key)


@router.post("/{task_id}/restore", responses=CHANGE_PROBLEMS, summary="Restore; creator only")
async def restore_task(
    task_id: UUID, keel: Keel, user: CurrentUser, idempotency_key: IdempotencyKey = None
) -> TaskView:
    return await change_one_task(keel.restore_task(), task_id, user, idempotency_key)


@router.post(
    "/{task_id}/dependencies",
    responses=BODY_CHANGE_PROBLEMS,
    summary="Make the task wait for another; creator only",
)
async def add_dependency(
    task_id: UUID,
    body: Dependency,
    keel: Keel,
    user: CurrentUser,
    idempotency_key: IdempotencyKey = None,
) -> TaskView:
    use_case = keel.add_dependency()
    task: TaskView = await use_case(
        AddDependencyCommand(task_id=task_id, depends_on_id=body.depends_on_id, actor_id=user.id),
        idempotency_key=scoped_key(user.id, idempotency_key),
    )
    return task
