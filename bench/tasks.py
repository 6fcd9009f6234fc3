"""The task board: a funded task's life, showing a large task, and one page of many tasks.

(a) create a task with a bounty, assign it, start it, complete it: four units through Keel's
    use cases, against four hand-written transactions doing the same writes and checks;
(b) show a task with 200 subtasks (GetTask) against hand-written SQL;
(c) one page of 50 of many tasks, oldest first (ListTasks) against hand-written SQL.

Calls run one after another. Keel's statements are counted from SQLAlchemy's events; the raw
code's are known by construction.

    .venv/bin/python bench/tasks.py [--quick] [--backends sqlite,postgres]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import functools
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID, uuid4

import aiosqlite
import asyncpg

from application.use_cases.tasks.changing import AssignTaskCommand, TaskCommand
from application.use_cases.tasks.creating import CreateTaskCommand
from application.use_cases.tasks.reading import GetTaskQuery, ListTasksQuery
from bench.common import (
    FULL,
    QUICK,
    Account,
    Database,
    Environment,
    Scale,
    StatementCounter,
    analyze,
    check_books,
    connect_sqlite,
    environment,
    fixed,
    insert_rows,
    keel_environment,
    latency_figures,
    markdown_table,
    minor_to_credits,
    note,
    pool_settings,
    read_sqlite_timestamp,
    seed_wallets,
    sqlite_timestamp,
    utc_now,
)
from domain.credits import Credits
from domain.ledger import escrow_account, wallet_account
from entrypoints.container import Container, build_container, running
from infrastructure.database.engine import create_engine
from infrastructure.database.records import TaskDependencyRecord, TaskRecord

OPENING_BALANCE_MINOR = 100_000_000
BOUNTY_MINOR = 1_000
SUBTASKS = 200
DEPENDENCIES = 10
PAGE = 50
WARMUP_CALLS = 5
FLOW_STEPS = ("create", "assign", "start", "complete")

# Statements of the raw code, by construction: see RawTasks. Each unit is one transaction,
# its BEGIN and COMMIT included.
RAW_STATEMENTS = {"create": 8, "assign": 5, "start": 4, "complete": 9, "show": 5, "page": 5}


class Refused(Exception):
    """A rule refused the hand-written unit, as Keel's domain would have."""


class RawConnection(Protocol):
    """What the hand-written task code needs from a driver; SQL is written with $N
    parameters (asyncpg's) and translated once for SQLite."""

    async def begin(self, *, read_only: bool = False) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def execute(self, sql: str, *args: Any) -> None: ...
    async def fetch(self, sql: str, *args: Any) -> list[Sequence[Any]]: ...
    async def close(self) -> None: ...
    def key(self, value: UUID) -> Any: ...
    def keys(self, values: Sequence[UUID]) -> Any: ...
    def uuid(self, stored: Any) -> UUID: ...
    def time(self, moment: datetime) -> Any: ...
    def read_time(self, stored: Any) -> datetime: ...

    links_of_many: str
    """The dependency links of the tasks whose ids are listed in parameter $1."""


@functools.cache
def sqlite_sql(sql: str) -> str:
    """A statement for SQLite: ?N parameters; no FOR UPDATE, since BEGIN IMMEDIATE has
    already taken the database's write lock."""
    return sql.replace(" FOR UPDATE", "").replace("$", "?")


class RawSqlite:
    # The ids are bound as one JSON array, whatever their number.
    links_of_many = (
        "SELECT task_id, depends_on_id FROM task_dependencies "
        "WHERE task_id IN (SELECT value FROM json_each($1))"
    )

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def begin(self, *, read_only: bool = False) -> None:
        # Writers lock before they read, as Keel's units do; readers take no write lock.
        await self._connection.execute("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")

    async def commit(self) -> None:
        await self._connection.execute("COMMIT")

    async def rollback(self) -> None:
        if self._connection.in_transaction:
            await self._connection.execute("ROLLBACK")

    async def execute(self, sql: str, *args: Any) -> None:
        await self._connection.execute(sqlite_sql(sql), args)

    async def fetch(self, sql: str, *args: Any) -> list[Sequence[Any]]:
        return list(await self._connection.execute_fetchall(sqlite_sql(sql), args))

    async def close(self) -> None:
        await self._connection.close()

    def key(self, value: UUID) -> Any:
        return value.hex

    def keys(self, values: Sequence[UUID]) -> Any:
        return json.dumps([value.hex for value in values])

    def uuid(self, stored: Any) -> UUID:
        return UUID(stored)

    def time(self, moment: datetime) -> Any:
        return sqlite_timestamp(moment)

    def read_time(self, stored: Any) -> datetime:
        return read_sqlite_timestamp(stored)


class RawPostgres:
    links_of_many = (
        "SELECT task_id, depends_on_id FROM task_dependencies WHERE task_id = ANY($1::uuid[])"
    )

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._transaction: Any = None

    async def begin(self, *, read_only: bool = False) -> None:
        self._transaction = self._connection.transaction(readonly=read_only)
        await self._transaction.start()

    async def commit(self) -> None:
        await self._transaction.commit()
        self._transaction = None

    async def rollback(self) -> None:
        if self._transaction is not None:
            await self._transaction.rollback()
            self._transaction = None

    async def execute(self, sql: str, *args: Any) -> None:
        await self._connection.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Sequence[Any]]:
        return list(await self._connection.fetch(sql, *args))

    async def close(self) -> None:
        await self._connection.close()

    def key(self, value: UUID) -> Any:
        return value

    def keys(self, values: Sequence[UUID]) -> Any:
        return list(values)

    def uuid(self, stored: Any) -> UUID:
        return UUID(str(stored))

    def time(self, moment: datetime) -> Any:
        return moment

    def read_time(self, stored: Any) -> datetime:
        assert isinstance(stored, datetime)
        return stored


async def connect_raw(database: Database) -> RawConnection:
    if database.backend == "sqlite":
        return RawSqlite(await connect_sqlite(database))
    return RawPostgres(await asyncpg.connect(database.url))


@dataclass(frozen=True)
class TaskRow:
    """A task as the hand-written reads return it: typed values, its dependencies sorted."""

    id: UUID
    title: str
    description: str
    status: str
    creator_id: UUID
    assignee_id: UUID | None
    parent_id: UUID | None
    bounty: Decimal
    deleted_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    dependency_ids: list[UUID] = field(default_factory=list)


class RawTasks:
    """The hand-written units: the same writes, locks and checks as Keel's use cases."""

    def __init__(self, raw: RawConnection) -> None:
        self.raw = raw

    @asynccontextmanager
    async def _unit(self, *, read_only: bool = False) -> AsyncIterator[RawConnection]:
        await self.raw.begin(read_only=read_only)
        try:
            yield self.raw
        except BaseException:
            await self.raw.rollback()
            raise
        await self.raw.commit()

    async def create(self, creator_id: UUID, title: str, bounty_minor: int) -> UUID:
        raw, now, task_id, entry_id = self.raw, utc_now(), uuid4(), uuid4()
        async with self._unit():
            users = await raw.fetch("SELECT active FROM users WHERE id = $1", raw.key(creator_id))
            if not users or not users[0][0]:
                raise Refused(f"user {creator_id} cannot create tasks")
            wallets = await raw.fetch(
                "SELECT id, balance FROM wallets WHERE owner_id = $1 FOR UPDATE",
                raw.key(creator_id),
            )
            if not wallets or wallets[0][1] < bounty_minor:
                raise Refused(f"user {creator_id} cannot fund {bounty_minor}")
            wallet_id, balance = raw.uuid(wallets[0][0]), int(wallets[0][1])
            await raw.execute(
                "INSERT INTO tasks (id, title, description, status, creator_id, assignee_id, "
                "parent_id, bounty, deleted_at, created_at, updated_at, version) "
                "VALUES ($1, $2, '', 'todo', $3, NULL, NULL, $4, NULL, $5, $5, 1)",
                raw.key(task_id),
                title,
                raw.key(creator_id),
                bounty_minor,
                raw.time(now),
            )
            await self._set_balance(wallet_id, balance - bounty_minor, now)
            await self._entry(
                entry_id,
                "escrow",
                now,
                (wallet_account(wallet_id), -bounty_minor),
                (escrow_account(task_id), bounty_minor),
            )
        return task_id

    async def assign(self, task_id: UUID, assignee_id: UUID) -> None:
        raw, now = self.raw, utc_now()
        async with self._unit():
            [(status, deleted_at)] = await raw.fetch(
                "SELECT status, deleted_at FROM tasks WHERE id = $1 FOR UPDATE", raw.key(task_id)
            )
            if deleted_at is not None or status not in ("todo", "in_progress"):
                raise Refused(f"task {task_id} cannot be assigned")
            users = await raw.fetch("SELECT active FROM users WHERE id = $1", raw.key(assignee_id))
            if not users or not users[0][0]:
                raise Refused(f"user {assignee_id} cannot be assigned")
            await raw.execute(
                "UPDATE tasks SET assignee_id = $1, updated_at = $2, version = version + 1 "
                "WHERE id = $3",
                raw.key(assignee_id),
                raw.time(now),
                raw.key(task_id),
            )

    async def start(self, task_id: UUID) -> None:
        raw, now = self.raw, utc_now()
        async with self._unit():
            [(status, assignee_id, deleted_at)] = await raw.fetch(
                "SELECT status, assignee_id, deleted_at FROM tasks WHERE id = $1 FOR UPDATE",
                raw.key(task_id),
            )
            if deleted_at is not None or status != "todo" or assignee_id is None:
                raise Refused(f"task {task_id} cannot start")
            await raw.execute(
                "UPDATE tasks SET status = 'in_progress', updated_at = $1, version = version + 1 "
                "WHERE id = $2",
                raw.time(now),
                raw.key(task_id),
            )

    async def complete(self, task_id: UUID) -> None:
        raw, now = self.raw, utc_now()
        async with self._unit():
            [(status, assignee_id, bounty, deleted_at)] = await raw.fetch(
                "SELECT status, assignee_id, bounty, deleted_at FROM tasks WHERE id = $1 "
                "FOR UPDATE",
                raw.key(task_id),
            )
            if deleted_at is not None or status != "in_progress":
                raise Refused(f"task {task_id} cannot complete")
            [(waiting,)] = await raw.fetch(
                "SELECT COUNT(*) FROM task_dependencies AS d JOIN tasks AS t "
                "ON t.id = d.depends_on_id WHERE d.task_id = $1 AND t.status <> 'done'",
                raw.key(task_id),
            )
            if waiting:
                raise Refused(f"task {task_id} waits for {waiting} tasks")
            wallets = await raw.fetch(
                "SELECT id, balance FROM wallets WHERE owner_id = $1 FOR UPDATE", assignee_id
            )
            if not wallets:
                raise Refused(f"user {assignee_id} has no wallet")
            wallet_id, balance = raw.uuid(wallets[0][0]), int(wallets[0][1])
            await raw.execute(
                "UPDATE tasks SET status = 'done', updated_at = $1, version = version + 1 "
                "WHERE id = $2",
                raw.time(now),
                raw.key(task_id),
            )
            await self._set_balance(wallet_id, balance + bounty, now)
            await self._entry(
                uuid4(),
                "payout",
                now,
                (escrow_account(task_id), -bounty),
                (wallet_account(wallet_id), bounty),
            )

    async def show(self, task_id: UUID) -> tuple[TaskRow, list[TaskRow], list[TaskRow]]:
        """The task, its subtasks and its dependencies, each with its dependency ids."""
        raw = self.raw
        async with self._unit(read_only=True):
            family = await raw.fetch(
                "SELECT id, title, description, status, creator_id, assignee_id, parent_id, "
                "bounty, deleted_at, created_at, updated_at, version FROM tasks "
                "WHERE id = $1 OR (parent_id = $1 AND deleted_at IS NULL) "
                "ORDER BY created_at, id",
                raw.key(task_id),
            )
            dependencies = await raw.fetch(
                "SELECT id, title, description, status, creator_id, assignee_id, parent_id, "
                "bounty, deleted_at, created_at, updated_at, version FROM tasks "
                "WHERE id IN (SELECT depends_on_id FROM task_dependencies WHERE task_id = $1) "
                "ORDER BY created_at, id",
                raw.key(task_id),
            )
            links = await raw.fetch(
                "SELECT task_id, depends_on_id FROM task_dependencies WHERE task_id IN "
                "(SELECT id FROM tasks WHERE id = $1 OR (parent_id = $1 AND deleted_at IS NULL) "
                "UNION SELECT depends_on_id FROM task_dependencies WHERE task_id = $1)",
                raw.key(task_id),
            )
        waits_for = self._links(links)
        rows = [self._row(row, waits_for) for row in family]
        [task] = [row for row in rows if row.id == task_id]
        subtasks = [row for row in rows if row.id != task_id]
        return task, subtasks, [self._row(row, waits_for) for row in dependencies]

    async def page(self, limit: int, offset: int) -> tuple[int, list[TaskRow]]:
        """How many tasks are not deleted, and one page of them, oldest first."""
        raw = self.raw
        async with self._unit(read_only=True):
            [(total,)] = await raw.fetch("SELECT COUNT(*) FROM tasks WHERE deleted_at IS NULL")
            page = await raw.fetch(
                "SELECT id, title, description, status, creator_id, assignee_id, parent_id, "
                "bounty, deleted_at, created_at, updated_at, version FROM tasks "
                "WHERE deleted_at IS NULL ORDER BY created_at, id LIMIT $1 OFFSET $2",
                limit,
                offset,
            )
            links = await raw.fetch(
                raw.links_of_many,
                raw.keys([raw.uuid(row[0]) for row in page]),
            )
        waits_for = self._links(links)
        return int(total), [self._row(row, waits_for) for row in page]

    async def _set_balance(self, wallet_id: UUID, balance: int, now: datetime) -> None:
        await self.raw.execute(
            "UPDATE wallets SET balance = $1, version = version + 1, updated_at = $2 WHERE id = $3",
            balance,
            self.raw.time(now),
            self.raw.key(wallet_id),
        )

    async def _entry(
        self,
        entry_id: UUID,
        kind: str,
        now: datetime,
        debit: tuple[str, int],
        credit: tuple[str, int],
    ) -> None:
        await self.raw.execute(
            "INSERT INTO ledger_entries (id, kind, created_at) VALUES ($1, $2, $3)",
            self.raw.key(entry_id),
            kind,
            self.raw.time(now),
        )
        await self.raw.execute(
            "INSERT INTO ledger_postings (entry_id, account, delta) "
            "VALUES ($1, $2, $3), ($1, $4, $5)",
            self.raw.key(entry_id),
            *debit,
            *credit,
        )

    def _links(self, links: Sequence[Sequence[Any]]) -> dict[UUID, list[UUID]]:
        waits_for: dict[UUID, list[UUID]] = {}
        for task_id, depends_on_id in links:
            waits_for.setdefault(self.raw.uuid(task_id), []).append(self.raw.uuid(depends_on_id))
        return waits_for

    def _row(self, row: Sequence[Any], waits_for: dict[UUID, list[UUID]]) -> TaskRow:
        raw = self.raw
        task_id = raw.uuid(row[0])
        return TaskRow(
            id=task_id,
            title=row[1],
            description=row[2],
            status=row[3],
            creator_id=raw.uuid(row[4]),
            assignee_id=None if row[5] is None else raw.uuid(row[5]),
            parent_id=None if row[6] is None else raw.uuid(row[6]),
            bounty=minor_to_credits(row[7]),
            deleted_at=None if row[8] is None else raw.read_time(row[8]),
            created_at=raw.read_time(row[9]),
            updated_at=raw.read_time(row[10]),
            version=row[11],
            dependency_ids=sorted(waits_for.get(task_id, [])),
        )


@asynccontextmanager
async def keel(database: Database) -> AsyncIterator[tuple[Container, StatementCounter]]:
    with keel_environment(database, **pool_settings(1)):
        container = build_container()
        async with running(container):
            yield container, StatementCounter(container.engine())


@dataclass
class Timings:
    """Latencies and statements of each kind of call."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    statements: dict[str, int] = field(default_factory=dict)

    def add(self, step: str, seconds: float, statements: int) -> None:
        self.seconds.setdefault(step, []).append(seconds)
        self.statements[step] = self.statements.get(step, 0) + statements


async def timed(
    timings: Timings,
    step: str,
    call: Callable[[], Awaitable[Any]],
    counter: StatementCounter | None,
) -> Any:
    before = counter.total if counter is not None else 0
    started = time.perf_counter()
    result = await call()
    elapsed = time.perf_counter() - started
    statements = counter.total - before if counter is not None else RAW_STATEMENTS[step]
    timings.add(step, elapsed, statements)
    return result


async def keel_flows(
    database: Database, creator: Account, assignee: Account, count: int
) -> Timings:
    """Create with a bounty, assign, start, complete: Keel's use cases through the container."""
    timings, warm = Timings(), Timings()
    bounty = Credits.from_minor_units(BOUNTY_MINOR)
    async with keel(database) as (container, counter):

        async def flow(into: Timings, number: int) -> None:
            create = CreateTaskCommand(
                creator_id=creator.user_id, title=f"task {number}", bounty=bounty
            )
            created = await timed(into, "create", lambda: container.create_task()(create), counter)
            task = TaskCommand(task_id=created.id)
            assign = AssignTaskCommand(task_id=created.id, assignee_id=assignee.user_id)
            await timed(into, "assign", lambda: container.assign_task()(assign), counter)
            await timed(into, "start", lambda: container.start_task()(task), counter)
            await timed(into, "complete", lambda: container.complete_task()(task), counter)

        for number in range(WARMUP_CALLS):
            await flow(warm, number)
        with counter:
            for number in range(count):
                await flow(timings, WARMUP_CALLS + number)
    return timings


async def raw_flows(database: Database, creator: Account, assignee: Account, count: int) -> Timings:
    """The same four units, hand-written on the raw driver; Keel then reads the last task."""
    timings, warm = Timings(), Timings()
    raw = await connect_raw(database)
    tasks = RawTasks(raw)
    last = None
    try:

        async def flow(into: Timings, number: int) -> UUID:
            title = f"task {number}"
            task_id: UUID = await timed(
                into, "create", lambda: tasks.create(creator.user_id, title, BOUNTY_MINOR), None
            )
            await timed(into, "assign", lambda: tasks.assign(task_id, assignee.user_id), None)
            await timed(into, "start", lambda: tasks.start(task_id), None)
            await timed(into, "complete", lambda: tasks.complete(task_id), None)
            return task_id

        for number in range(WARMUP_CALLS):
            await flow(warm, number)
        for number in range(count):
            last = await flow(timings, WARMUP_CALLS + number)
    finally:
        await raw.close()
    assert last is not None
    await _keel_reads_back(database, last)
    return timings


async def flows(environment: Environment, backend: str, scale: Scale) -> list[dict[str, Any]]:
    """(a): each implementation on a fresh database with a funded creator and an assignee."""
    results = []
    for implementation, run_flows in (("keel", keel_flows), ("raw", raw_flows)):
        async with environment.fresh_database(backend) as database:
            seeding = create_engine(database.settings())
            try:
                creator, assignee = await seed_wallets(seeding, 2, OPENING_BALANCE_MINOR)
            finally:
                await seeding.dispose()
            await analyze(database)
            timings = await run_flows(database, creator, assignee, scale.task_flows)
            books = await check_books(database, 2 * OPENING_BALANCE_MINOR)
            paid = WARMUP_CALLS + scale.task_flows
            if books["escrow_minor"] != 0 or books["entries"] != 2 + 2 * paid:
                raise AssertionError(f"{implementation} on {backend}: bounties not all paid out")
        flow_seconds = [sum(step) for step in zip(*timings.seconds.values(), strict=True)]
        results.append(
            {
                "workload": "task flow",
                "implementation": implementation,
                "backend": backend,
                "calls": scale.task_flows,
                **latency_figures(flow_seconds),
                "statements_per_call": sum(timings.statements.values()) / scale.task_flows,
                "statements_counted": "events" if implementation == "keel" else "by construction",
                "steps": {
                    step: {
                        **latency_figures(seconds),
                        "statements_per_call": timings.statements[step] / len(seconds),
                    }
                    for step, seconds in timings.seconds.items()
                },
            }
        )
    return results


async def _keel_reads_back(database: Database, task_id: UUID) -> None:
    """What the hand-written code wrote is what Keel itself would have: Keel reads it back."""
    async with keel(database) as (container, _):
        shown = await container.get_task()(GetTaskQuery(task_id=task_id))
    if shown.task.status != "done" or shown.task.bounty != minor_to_credits(BOUNTY_MINOR):
        raise AssertionError(f"Keel reads the raw task {task_id} back as {shown.task}")


def _bulk_tasks(
    creator_id: UUID, count: int, start: datetime
) -> Iterator[tuple[dict[str, Any], UUID]]:
    statuses = ("todo", "in_progress", "done", "cancelled")
    for number in range(count):
        moment = start + timedelta(milliseconds=number)
        task_id = uuid4()
        yield (
            {
                "id": task_id,
                "title": f"task {number:06d}",
                "description": "",
                "status": statuses[number % len(statuses)],
                "creator_id": creator_id,
                "assignee_id": None,
                "parent_id": None,
                "bounty": Decimal(0),
                # Every 100th task is deleted, so that the lists' filter has work to do.
                "deleted_at": moment if number % 100 == 99 else None,
                "created_at": moment,
                "updated_at": moment,
                "version": 1,
            },
            task_id,
        )


async def seed_board(database: Database, total: int) -> UUID:
    """`total` tasks with plain inserts, each depending on the one before; among them one
    with SUBTASKS subtasks (each depending on the one before) and DEPENDENCIES dependencies.
    Returns that task's id."""
    engine = create_engine(database.settings())
    try:
        [creator] = await seed_wallets(engine, 1, OPENING_BALANCE_MINOR)
        family_size = 1 + SUBTASKS + DEPENDENCIES
        start = utc_now() - timedelta(days=30)
        bulk = list(_bulk_tasks(creator.user_id, total - family_size, start))
        family = list(_bulk_tasks(creator.user_id, family_size, start + timedelta(days=1)))
        [(_, parent_id)] = family[:1]
        subtasks, dependencies = family[1 : 1 + SUBTASKS], family[1 + SUBTASKS :]
        for row, _ in family:
            row["deleted_at"], row["status"] = None, "todo"
        for row, _ in subtasks:
            row["parent_id"] = parent_id
        links = [
            {"task_id": later, "depends_on_id": earlier}
            for chain in (bulk, subtasks)
            for (_, earlier), (_, later) in itertools.pairwise(chain)
        ]
        links += [{"task_id": parent_id, "depends_on_id": dep_id} for _, dep_id in dependencies]
        await insert_rows(engine, TaskRecord, (row for row, _ in bulk + family))
        await insert_rows(engine, TaskDependencyRecord, links)
    finally:
        await engine.dispose()
    return parent_id


async def reads(environment: Environment, backend: str, scale: Scale) -> list[dict[str, Any]]:
    """(b) and (c), Keel and raw in turn on one seeded database."""
    async with environment.fresh_database(backend) as database:
        started = time.perf_counter()
        parent_id = await seed_board(database, scale.listed_tasks)
        await analyze(database)
        note(
            f"tasks    {backend:8} seeded {scale.listed_tasks:,} tasks in "
            f"{time.perf_counter() - started:.1f} s"
        )
        keel_timings, raw_timings = Timings(), Timings()
        async with keel(database) as (container, counter):
            show_query, page_query = GetTaskQuery(task_id=parent_id), ListTasksQuery(limit=PAGE)
            keel_shown = await container.get_task()(show_query)
            keel_page = await container.list_tasks()(page_query)
            for _ in range(WARMUP_CALLS):
                await container.get_task()(show_query)
                await container.list_tasks()(page_query)
            with counter:
                for _ in range(scale.reads):
                    await timed(
                        keel_timings, "show", lambda: container.get_task()(show_query), counter
                    )
                    await timed(
                        keel_timings, "page", lambda: container.list_tasks()(page_query), counter
                    )
        raw = await connect_raw(database)
        try:
            tasks = RawTasks(raw)
            raw_shown = await tasks.show(parent_id)
            raw_page = await tasks.page(PAGE, 0)
            for _ in range(WARMUP_CALLS):
                await tasks.show(parent_id)
                await tasks.page(PAGE, 0)
            for _ in range(scale.reads):
                await timed(raw_timings, "show", lambda: tasks.show(parent_id), None)
                await timed(raw_timings, "page", lambda: tasks.page(PAGE, 0), None)
        finally:
            await raw.close()
    _same_answers(keel_shown, raw_shown, keel_page, raw_page)
    workloads = {
        "show": f"show a task with {SUBTASKS} subtasks",
        "page": f"page of {PAGE} of {scale.listed_tasks:,} tasks",
    }
    return [
        {
            "workload": workloads[step],
            "implementation": implementation,
            "backend": backend,
            "calls": scale.reads,
            **latency_figures(timings.seconds[step]),
            "statements_per_call": timings.statements[step] / scale.reads,
            "statements_counted": "events" if implementation == "keel" else "by construction",
        }
        for step in ("show", "page")
        for implementation, timings in (("keel", keel_timings), ("raw", raw_timings))
    ]


def _same_answers(keel_shown: Any, raw_shown: Any, keel_page: Any, raw_page: Any) -> None:
    """Both implementations return the same tasks, in the same order, with the same links."""
    task, subtasks, dependencies = raw_shown
    shown_pairs = [
        ([keel_shown.task], [task]),
        (keel_shown.subtasks, subtasks),
        (keel_shown.dependencies, dependencies),
        (keel_page.tasks, raw_page[1]),
    ]
    for keel_tasks, raw_tasks in shown_pairs:
        keel_facts = [(t.id, t.created_at, t.bounty, list(t.dependency_ids)) for t in keel_tasks]
        raw_facts = [(t.id, t.created_at, t.bounty, t.dependency_ids) for t in raw_tasks]
        if keel_facts != raw_facts:
            raise AssertionError("Keel and the raw SQL return different tasks")
    if len(subtasks) != SUBTASKS or len(dependencies) != DEPENDENCIES:
        raise AssertionError(f"{len(subtasks)} subtasks and {len(dependencies)} dependencies")
    if keel_page.total != raw_page[0] or len(raw_page[1]) != PAGE:
        raise AssertionError(f"totals differ: Keel {keel_page.total}, raw {raw_page[0]}")


async def run(environment: Environment, scale: Scale) -> list[dict[str, Any]]:
    results = []
    for backend in environment.backends:
        for result in await flows(environment, backend, scale) + await reads(
            environment, backend, scale
        ):
            note(
                f"tasks    {backend:8} {result['workload']:32} {result['implementation']:5} "
                f"p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms  "
                f"{result['statements_per_call']:.2f} stmts"
            )
            results.append(result)
    return results


def table(results: Sequence[dict[str, Any]]) -> str:
    raw_of = {(r["workload"], r["backend"]): r for r in results if r["implementation"] == "raw"}
    rows = []
    for r in results:
        base = raw_of[(r["workload"], r["backend"])]
        rows.append(
            [
                r["workload"],
                r["implementation"],
                r["backend"],
                fixed(r["p50_ms"]),
                fixed(r["p99_ms"]),
                fixed(r["statements_per_call"], 2)
                + ("" if r["statements_counted"] == "events" else " (by construction)"),
                f"{r['p50_ms'] / base['p50_ms']:.2f}",
                f"{r['p99_ms'] / base['p99_ms']:.2f}",
            ]
        )
    headers = [
        "workload",
        "implementation",
        "backend",
        "p50 ms",
        "p99 ms",
        "statements/call",
        "p50 ÷ raw",
        "p99 ÷ raw",
    ]
    return markdown_table(headers, rows)


def steps_table(results: Sequence[dict[str, Any]]) -> str:
    """The task flow step by step."""
    rows = [
        [
            r["implementation"],
            r["backend"],
            step,
            fixed(figures["p50_ms"]),
            fixed(figures["p99_ms"]),
            fixed(figures["statements_per_call"], 2),
        ]
        for r in results
        if r["workload"] == "task flow"
        for step, figures in r["steps"].items()
    ]
    headers = ["implementation", "backend", "step", "p50 ms", "p99 ms", "statements/call"]
    return markdown_table(headers, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and tasks")
    parser.add_argument("--backends", default="sqlite,postgres")
    arguments = parser.parse_args()
    scale = QUICK if arguments.quick else FULL
    with environment(arguments.backends.split(",")) as env:
        results = asyncio.run(run(env, scale))
    print(table(results))
    print()
    print(steps_table(results))


if __name__ == "__main__":
    main()
