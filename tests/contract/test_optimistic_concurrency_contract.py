"""Concurrent changes to one task: a stale write is refused, or retried to success; none is lost."""

from __future__ import annotations

import asyncio
from uuid import UUID

from application.ports.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory
from application.retry import RetryCounter, Retrying, RetryPolicy, RetryRunner
from application.use_cases.tasks.changing import AssignTask, AssignTaskCommand
from domain.errors import ConcurrencyConflict
from domain.tasks import Task
from domain.users import User
from infrastructure.database.engine import create_session_factory
from infrastructure.database.unit_of_work import SqlAlchemyUnitOfWork
from tests.builders import new_user, no_wait
from tests.conftest import sql_uow_factory
from tests.databases import Databases

CHANGES = 8


async def board(uow_factory: UnitOfWorkFactory) -> tuple[Task, list[User]]:
    """A task and two users it can be assigned to."""
    creator, *assignees = new_user(), new_user(), new_user()
    task, _ = Task.create(creator=creator, title="contended")
    async with uow_factory() as uow:
        for user in (creator, *assignees):
            await uow.users.add(user)
        await uow.tasks.add(task)
        await uow.commit()
    return task, assignees


async def stored_version(uow_factory: UnitOfWorkFactory, task_id: UUID) -> int:
    async with uow_factory(read_only=True) as uow:
        return (await uow.tasks.get(task_id)).version


async def test_concurrent_safe_changes_are_all_applied_one_after_another(
    uow_factory: UnitOfWorkFactory,
) -> None:
    task, assignees = await board(uow_factory)
    runner = RetryRunner(RetryPolicy(max_attempts=CHANGES + 2), RetryCounter(), sleep=no_wait)
    assign = Retrying(AssignTask(uow_factory), runner)

    views = await asyncio.gather(
        *(
            assign(AssignTaskCommand(task_id=task.id, assignee_id=assignees[i % 2].id))
            for i in range(CHANGES)
        )
    )

    # Each change committed a new version on top of the one before: none overwrote another.
    assert await stored_version(uow_factory, task.id) == task.version + CHANGES
    assert sorted(view.version for view in views) == list(range(2, CHANGES + 2))


async def test_of_two_units_that_read_one_version_the_second_writer_gets_a_conflict(
    databases: Databases,
) -> None:
    """Only PostgreSQL lets two writers read at once: SQLite and the fake admit one writer."""
    uow_factory = sql_uow_factory(await databases.engine("postgres"))
    task, assignees = await board(uow_factory)
    both_read = asyncio.Barrier(2)

    async def assign_after_both_read(assignee: User, delay: float) -> None:
        async with uow_factory() as uow:
            loaded = await uow.tasks.get(task.id)
            await both_read.wait()
            await asyncio.sleep(delay)
            loaded.assign(assignee)
            await uow.commit()

    outcomes = await asyncio.gather(
        assign_after_both_read(assignees[0], 0),
        assign_after_both_read(assignees[1], 0.2),
        return_exceptions=True,
    )

    assert outcomes[0] is None
    assert isinstance(outcomes[1], ConcurrencyConflict)
    async with uow_factory(read_only=True) as uow:
        stored = await uow.tasks.get(task.id)
    assert (stored.assignee_id, stored.version) == (assignees[0].id, task.version + 1)


async def test_a_use_case_safe_to_rerun_is_retried_past_the_conflict(
    databases: Databases,
) -> None:
    engine = await databases.engine("postgres")
    uow_factory = sql_uow_factory(engine)
    task, assignees = await board(uow_factory)
    both_read = asyncio.Barrier(2)
    runner = RetryRunner(RetryPolicy(max_attempts=3), RetryCounter(), sleep=no_wait)

    session_factory = create_session_factory(engine)
    waits = [2]

    class ReadTogether(SqlAlchemyUnitOfWork):
        """A unit whose first read of the task waits until the other unit has read it too."""

        async def _begin(self) -> None:
            await super()._begin()
            get = self.tasks.get

            async def get_then_meet(task_id: UUID) -> Task:
                loaded = await get(task_id)
                if waits[0]:
                    waits[0] -= 1
                    await both_read.wait()
                return loaded

            self.tasks.get = get_then_meet  # type: ignore[method-assign,assignment]

    def read_together(*, read_only: bool = False) -> AbstractUnitOfWork:
        return ReadTogether(session_factory, read_only=read_only)

    assert AssignTask.safe_to_rerun
    assign = Retrying(AssignTask(read_together), runner)
    await asyncio.gather(
        assign(AssignTaskCommand(task_id=task.id, assignee_id=assignees[0].id)),
        assign(AssignTaskCommand(task_id=task.id, assignee_id=assignees[1].id)),
    )

    assert runner.counter.retries == 1
    assert await stored_version(uow_factory, task.id) == task.version + 2
