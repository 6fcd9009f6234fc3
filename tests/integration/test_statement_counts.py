"""Reading tasks runs a fixed number of SQL statements, however many rows are involved."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from application.ports.unit_of_work import UnitOfWorkFactory
from application.use_cases.tasks.creating import (
    CreateTaskCommand,
    CreateTasks,
    CreateTasksCommand,
)
from application.use_cases.tasks.reading import GetTask, GetTaskQuery, ListTasks, ListTasksQuery
from domain.users import User
from tests.builders import new_user
from tests.conftest import sql_uow_factory


class StatementCounter:
    """Counts the statements an engine sends to the database while `counting()` is open."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.statements: list[str] = []
        self._on = False

    def _heard(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # One event per cursor execution: an executemany is one statement here.
        if self._on:
            self.statements.append(statement)

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.statements = []
        self._on = True
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._heard)
        try:
            yield self.statements
        finally:
            event.remove(self.engine.sync_engine, "before_cursor_execute", self._heard)
            self._on = False


async def stored_creator(uow_factory: UnitOfWorkFactory) -> User:
    user = new_user()
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.commit()
    return user


async def create(uow_factory: UnitOfWorkFactory, items: list[CreateTaskCommand]) -> None:
    await CreateTasks(uow_factory)(CreateTasksCommand(tasks=items))


def shown(statements: list[str]) -> str:
    return "\n---\n".join(statements)


async def test_showing_a_task_takes_as_many_statements_for_200_relations_as_for_1(
    engine: AsyncEngine,
) -> None:
    uow_factory = sql_uow_factory(engine)
    creator = (await stored_creator(uow_factory)).id

    async def family(size: int) -> UUID:
        """A task with `size` subtasks and `size` dependencies."""
        task_id = uuid4()
        dependencies = [uuid4() for _ in range(size)]
        awaited = [
            CreateTaskCommand(creator_id=creator, title=f"d{i}", task_id=dependency)
            for i, dependency in enumerate(dependencies)
        ]
        task = CreateTaskCommand(
            creator_id=creator, title="task", task_id=task_id, dependency_ids=dependencies
        )
        subtasks = [
            CreateTaskCommand(creator_id=creator, title=f"s{i}", parent_id=task_id)
            for i in range(size)
        ]
        await create(uow_factory, [*awaited, task, *subtasks])
        return task_id

    small, large = await family(1), await family(200)
    counter = StatementCounter(engine)
    get_task = GetTask(uow_factory)

    with counter.counting() as for_small:
        small_view = await get_task(GetTaskQuery(task_id=small))
    with counter.counting() as for_large:
        large_view = await get_task(GetTaskQuery(task_id=large))

    assert (len(small_view.subtasks), len(small_view.dependencies)) == (1, 1)
    assert (len(large_view.subtasks), len(large_view.dependencies)) == (200, 200)
    assert len(for_small) == len(for_large), (
        f"1 relation: {len(for_small)} statements, 200 relations: {len(for_large)}\n"
        f"{shown(for_large)}"
    )


async def test_listing_a_page_of_tasks_takes_as_many_statements_among_10000_as_among_100(
    engine: AsyncEngine,
) -> None:
    uow_factory = sql_uow_factory(engine)
    creator = (await stored_creator(uow_factory)).id
    previous = uuid4()
    await create(
        uow_factory, [CreateTaskCommand(creator_id=creator, title="root", task_id=previous)]
    )

    async def grow_to(total: int, have: int) -> None:
        """Add tasks up to `total` (one of them the root), each depending on the one before."""
        nonlocal previous
        items: list[CreateTaskCommand] = []
        for index in range(have, total):
            task_id = uuid4()
            items.append(
                CreateTaskCommand(
                    creator_id=creator,
                    title=f"task {index:05d}",
                    task_id=task_id,
                    dependency_ids=[previous],
                )
            )
            previous = task_id
        await create(uow_factory, items)

    counter = StatementCounter(engine)
    list_tasks = ListTasks(uow_factory)
    query = ListTasksQuery(limit=50, offset=25)

    await grow_to(100, have=1)
    with counter.counting() as among_100:
        small = await list_tasks(query)
    await grow_to(10_000, have=100)
    with counter.counting() as among_10000:
        large = await list_tasks(query)

    assert (small.total, large.total) == (100, 10_000)
    assert len(small.tasks) == len(large.tasks) == 50
    assert all(len(task.dependency_ids) == 1 for task in large.tasks)
    assert len(among_100) == len(among_10000), (
        f"among 100: {len(among_100)} statements, among 10000: {len(among_10000)}\n"
        f"{shown(among_10000)}"
    )


async def test_a_prefetched_task_is_handed_out_without_another_statement(
    engine: AsyncEngine,
) -> None:
    uow_factory = sql_uow_factory(engine)
    creator = (await stored_creator(uow_factory)).id
    ids = [uuid4() for _ in range(3)]
    await create(
        uow_factory,
        [CreateTaskCommand(creator_id=creator, title="t", task_id=task_id) for task_id in ids],
    )
    counter = StatementCounter(engine)

    async with uow_factory(read_only=True) as uow:
        with counter.counting() as prefetching:
            await uow.tasks.prefetch([*ids, uuid4()])
        with counter.counting() as fetching:
            await uow.tasks.get_many(ids[::-1])
            await uow.tasks.get_for_update(ids[:1])
            await uow.tasks.get(ids[1])

    assert prefetching, "the prefetch itself must read the tasks"
    assert fetching == [], shown(fetching)
