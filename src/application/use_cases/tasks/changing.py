"""Changing tasks: assignment, status, deletion, dependencies; bounties move with status."""

from __future__ import annotations

import abc
from typing import ClassVar, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import Field

from application.models import Command, Result
from application.ports.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory
from application.views import TaskView
from domain.tasks import Task, TaskRole, TaskStatus
from domain.wallets import Wallet

MAX_BULK_TASKS = 10_000


class TaskCommand(Command):
    task_id: UUID
    actor_id: UUID | None = None
    """Who asks, when the caller is a user: then only the role the change needs may make it,
    checked inside the unit that makes it. None: the caller is trusted (an operator's CLI)."""


C = TypeVar("C", bound=TaskCommand)


class AssignTaskCommand(TaskCommand):
    assignee_id: UUID


class AddDependencyCommand(TaskCommand):
    depends_on_id: UUID


class ChangeTaskStatusesCommand(Command):
    task_ids: list[UUID] = Field(min_length=1, max_length=MAX_BULK_TASKS)
    status: Literal[TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.CANCELLED]
    actor_id: UUID | None = None
    """As `TaskCommand.actor_id`; cancelling needs the creator, the other moves the assignee."""


class ChangedTasks(Result):
    changed: int


async def move(uow: AbstractUnitOfWork, task: Task, status: TaskStatus) -> None:
    """Move `task` to `status`, paying or refunding its bounty on the way."""
    task.check_transition(status)  # before any wallet is looked up: its error comes first
    if status is TaskStatus.IN_PROGRESS:
        task.start()
        return
    if status is TaskStatus.DONE:
        dependencies = await uow.tasks.get_many(sorted(task.dependency_ids))
        entry = task.complete(dependencies, await _bounty_wallet(uow, task, task.assignee_id))
    else:
        entry = task.cancel(await _bounty_wallet(uow, task, task.creator_id))
    if entry is not None:
        await uow.ledger.append(entry)


async def _bounty_wallet(
    uow: AbstractUnitOfWork, task: Task, owner_id: UUID | None
) -> Wallet | None:
    if task.bounty.value == 0 or owner_id is None:
        return None
    return await uow.wallets.get_by_owner_for_update(owner_id)


class _ChangeOneTask(abc.ABC, Generic[C]):
    """A unit that reads one task, changes it, and commits: the shape of most task changes."""

    # Everything it decides on is read afresh inside the unit: running it again after a
    # concurrency conflict decides again on the current state.
    safe_to_rerun: ClassVar[bool] = True

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, command: C) -> TaskView:
        async with self._uow_factory() as uow:
            # Read without a lock: the version check at commit refuses a stale write.
            task = await uow.tasks.get(command.task_id)
            if command.actor_id is not None:
                task.check_actor(command.actor_id, self.role)
            await self._change(uow, task, command)
            await uow.commit()
        return TaskView.of(task)

    role: ClassVar[TaskRole] = TaskRole.CREATOR
    """The role an acting user needs on the task."""

    @abc.abstractmethod
    async def _change(self, uow: AbstractUnitOfWork, task: Task, command: C) -> None: ...


class StartTask(_ChangeOneTask[TaskCommand]):
    """todo → in_progress; the task needs an assignee."""

    role = TaskRole.ASSIGNEE

    async def _change(self, uow: AbstractUnitOfWork, task: Task, command: TaskCommand) -> None:
        await move(uow, task, TaskStatus.IN_PROGRESS)


class CompleteTask(_ChangeOneTask[TaskCommand]):
    """in_progress → done once every dependency is done; the bounty goes to the assignee."""

    role = TaskRole.ASSIGNEE

    async def _change(self, uow: AbstractUnitOfWork, task: Task, command: TaskCommand) -> None:
        await move(uow, task, TaskStatus.DONE)


class CancelTask(_ChangeOneTask[TaskCommand]):
    """todo or in_progress → cancelled; the bounty goes back to the creator."""

    async def _change(self, uow: AbstractUnitOfWork, task: Task, command: TaskCommand) -> None:
        await move(uow, task, TaskStatus.CANCELLED)


class AssignTask(_ChangeOneTask[AssignTaskCommand]):
    """Give an open task to an active user."""

    async def _change(
        self, uow: AbstractUnitOfWork, task: Task, command: AssignTaskCommand
    ) -> None:
        task.assign(await uow.users.get(command.assignee_id))


class DeleteTask(_ChangeOneTask[TaskCommand]):
    """Soft-delete a task: it leaves lists and can be restored; its bounty stays in escrow."""

    async def _change(self, uow: AbstractUnitOfWork, task: Task, command: TaskCommand) -> None:
        task.delete()


class RestoreTask(_ChangeOneTask[TaskCommand]):
    """Bring a soft-deleted task back."""

    async def _change(self, uow: AbstractUnitOfWork, task: Task, command: TaskCommand) -> None:
        task.restore()


class AddDependency(_ChangeOneTask[AddDependencyCommand]):
    """Make a task wait for another; a dependency that would close a cycle is refused."""

    async def _change(
        self, uow: AbstractUnitOfWork, task: Task, command: AddDependencyCommand
    ) -> None:
        other = await uow.tasks.get(command.depends_on_id)
        task.depend_on(other, await uow.tasks.reachable_dependencies(other.id))


class ChangeTaskStatuses:
    """Move many tasks to one status, all or nothing; tasks already there stay as they are."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, command: ChangeTaskStatusesCommand) -> ChangedTasks:
        changed = 0
        async with self._uow_factory() as uow:
            tasks = await uow.tasks.get_for_update(sorted(set(command.task_ids)))
            if command.actor_id is not None:
                role = (
                    TaskRole.CREATOR
                    if command.status is TaskStatus.CANCELLED
                    else TaskRole.ASSIGNEE
                )
                for task in tasks:
                    task.check_actor(command.actor_id, role)
            for task in dependencies_first(tasks):
                if task.status is not command.status:
                    await move(uow, task, command.status)
                    changed += 1
            await uow.commit()
        return ChangedTasks(changed=changed)


def dependencies_first(tasks: list[Task]) -> list[Task]:
    """The tasks in an order where each comes after those of them it depends on.

    So a batch can complete a task together with its dependencies, whatever their ids.
    """
    pending = {task.id: task for task in tasks}
    ordered: list[Task] = []
    while pending:
        ready = [t for t in pending.values() if not t.dependency_ids & pending.keys()]
        for task in ready or list(pending.values()):  # no cycles exist; guard all the same
            ordered.append(pending.pop(task.id))
    return ordered
