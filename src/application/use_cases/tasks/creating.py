"""Creating tasks, one or a batch, with parents, dependencies and bounties."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from application.errors import BatchItemRefused
from application.models import Amount, Command, Description, Result, Title
from application.ports.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory
from application.views import TaskView
from domain.errors import DomainError
from domain.tasks import Task

BATCH_CHUNK_SIZE = 500
MAX_DEPENDENCIES = 1000


class CreateTaskCommand(Command):
    creator_id: UUID
    title: Title
    description: Description = ""
    parent_id: UUID | None = None
    dependency_ids: list[UUID] = Field(default_factory=list, max_length=MAX_DEPENDENCIES)
    bounty: Amount | None = None
    task_id: UUID | None = None
    """Chosen by the caller, so that later items of a batch can refer to this one."""


class CreateTasksCommand(Command):
    tasks: list[CreateTaskCommand] = Field(min_length=1)


class CreatedTasks(Result):
    count: int
    task_ids: list[UUID]


async def create_one(uow: AbstractUnitOfWork, command: CreateTaskCommand) -> Task:
    """Create a task in `uow`; with a bounty, move it from the creator's wallet into escrow."""
    creator = await uow.users.get(command.creator_id)
    parent = await uow.tasks.get(command.parent_id) if command.parent_id else None
    dependencies = await uow.tasks.get_many(command.dependency_ids)
    wallet = await uow.wallets.get_by_owner_for_update(creator.id) if command.bounty else None
    task, escrow = Task.create(
        creator=creator,
        title=command.title,
        description=command.description,
        parent=parent,
        dependencies=dependencies,
        bounty=command.bounty,
        funding_wallet=wallet,
        task_id=command.task_id,
    )
    await uow.tasks.add(task)
    if escrow is not None:
        await uow.ledger.append(escrow)
    return task


class CreateTask:
    """Create one task; a bounty is escrowed from the creator's wallet in the same unit."""

    # Everything it decides on is read afresh inside the unit: running it again after a
    # concurrency conflict decides again on the current state.
    safe_to_rerun: ClassVar[bool] = True

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, command: CreateTaskCommand) -> TaskView:
        async with self._uow_factory() as uow:
            task = await create_one(uow, command)
            await uow.commit()
        return TaskView.of(task)


class CreateTasks:
    """Create a batch of tasks, all or nothing; a refused item is named by its position."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(
        self, command: CreateTasksCommand, progress: Callable[[int], None] | None = None
    ) -> CreatedTasks:
        """`progress`, if given, hears how many items are done after each chunk."""
        created: list[UUID] = []
        async with self._uow_factory() as uow:
            for start in range(0, len(command.tasks), BATCH_CHUNK_SIZE):
                chunk = command.tasks[start : start + BATCH_CHUNK_SIZE]
                await _prefetch(uow, chunk)
                for index, item in enumerate(chunk, start):
                    try:
                        created.append((await create_one(uow, item)).id)
                    except DomainError as error:
                        raise BatchItemRefused(index, error) from error
                if progress is not None:
                    progress(len(created))
            await uow.commit()
        return CreatedTasks(count=len(created), task_ids=created)


async def _prefetch(uow: AbstractUnitOfWork, chunk: Sequence[CreateTaskCommand]) -> None:
    """Load what a chunk refers to in a few queries rather than a few per item."""
    await uow.users.prefetch({item.creator_id for item in chunk})
    referenced = {
        task_id
        for item in chunk
        for task_id in (item.task_id, item.parent_id, *item.dependency_ids)
        if task_id is not None
    }
    await uow.tasks.prefetch(referenced)
