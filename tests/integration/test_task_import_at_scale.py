"""CreateTasks, the use case behind `keel tasks import`, with 100,000 tasks in one call.

The rows are shaped as an import file has them: ids chosen by the file, later rows referring to
earlier ones as parent or dependency, some with a bounty. The import either stores every row or,
when one row in the middle is refused, nothing at all. Storage is read with plain SQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from application.errors import BatchItemRefused
from application.idempotency import Idempotent
from application.ports.unit_of_work import UnitOfWorkFactory
from application.use_cases import (
    DepositCredits,
    DepositCreditsCommand,
    OpenWallet,
    OpenWalletCommand,
    RegisterUser,
    RegisterUserCommand,
)
from application.use_cases.tasks.changing import AddDependency, AddDependencyCommand
from application.use_cases.tasks.creating import (
    CreateTask,
    CreateTaskCommand,
    CreateTasks,
    CreateTasksCommand,
)
from domain.errors import DomainError, InsufficientFunds, NotFound
from domain.events import utc_now
from tests.conftest import sql_uow_factory
from tests.databases import Databases

BATCH_SIZE = 100_000
MIDDLE = BATCH_SIZE // 2
BOUNTY = Decimal("1.00")
FUNDS = Decimal(BATCH_SIZE) * BOUNTY


@dataclass(frozen=True)
class Creator:
    user_id: UUID
    wallet_id: UUID


@dataclass
class Board:
    engine: AsyncEngine
    uow_factory: UnitOfWorkFactory
    creator: Creator


@pytest.fixture
async def board(sql_backend: str, databases: Databases) -> Board:
    """A fresh database holding one creator whose wallet can pay every bounty of a batch."""
    engine = await databases.engine(sql_backend)
    uow_factory = sql_uow_factory(engine)
    user = await RegisterUser(uow_factory)(
        RegisterUserCommand(email="importer@example.com", username="importer")
    )
    wallet = await OpenWallet(uow_factory)(OpenWalletCommand(owner_id=user.id))
    await DepositCredits(uow_factory)(DepositCreditsCommand(wallet_id=wallet.id, amount=FUNDS))
    return Board(engine, uow_factory, Creator(user.id, wallet.id))


def row(index: int, ids: list[UUID], creator: Creator) -> CreateTaskCommand:
    """Row `index` of a batch: every tenth a subtask, every seventh waits for two earlier
    tasks, every twentieth carries a bounty."""
    return CreateTaskCommand(
        task_id=ids[index],
        creator_id=creator.user_id,
        title=f"imported task {index}",
        parent_id=ids[index - 5] if index % 10 == 9 else None,
        dependency_ids=[ids[index - 1], ids[index - 3]] if index % 7 == 6 else [],
        bounty=BOUNTY if index % 20 == 19 else None,
    )


def batch(creator: Creator, size: int = BATCH_SIZE) -> list[CreateTaskCommand]:
    ids = [uuid4() for _ in range(size)]
    return [row(index, ids, creator) for index in range(size)]


async def scalar(engine: AsyncEngine, sql: str, **parameters: Any) -> Any:
    async with engine.connect() as connection:
        return await connection.scalar(text(sql), parameters)


async def table_names(engine: AsyncEngine) -> list[str]:
    """Every table in the database, the migrations' own included."""
    async with engine.connect() as connection:
        names: list[str] = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    return sorted(names)


async def everything(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """The full contents of every table, each in a fixed order: the tables are small here."""
    contents: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as connection:
        for table in await table_names(engine):
            # Table names come from the database itself, never from input.
            rows = await connection.execute(text(f"SELECT * FROM {table}"))
            contents[table] = sorted((tuple(r) for r in rows), key=repr)
    return contents


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    return {
        table: int(await scalar(engine, f"SELECT COUNT(*) FROM {table}"))
        for table in await table_names(engine)
    }


async def test_importing_a_hundred_thousand_tasks_in_one_call_stores_every_one(
    board: Board, sql_backend: str
) -> None:
    commands = batch(board.creator)
    before = await row_counts(board.engine)

    started = time.perf_counter()
    created = await CreateTasks(board.uow_factory)(CreateTasksCommand(tasks=commands))
    elapsed = time.perf_counter() - started
    # Shown with -rP: the figure to watch when the import or the ORM changes.
    print(f"{sql_backend}: imported {BATCH_SIZE:,} tasks in {elapsed:.1f} s")

    assert created.count == BATCH_SIZE
    assert created.task_ids == [command.task_id for command in commands]
    subtasks = sum(1 for command in commands if command.parent_id)
    links = sum(len(command.dependency_ids) for command in commands)
    bounties = sum(1 for command in commands if command.bounty)
    assert await row_counts(board.engine) == {
        **before,
        "tasks": before["tasks"] + BATCH_SIZE,
        "task_dependencies": before["task_dependencies"] + links,
        "ledger_entries": before["ledger_entries"] + bounties,
        "ledger_postings": before["ledger_postings"] + 2 * bounties,
        # One TaskCreated event per task, written with the tasks.
        "outbox_messages": before["outbox_messages"] + BATCH_SIZE,
    }
    engine = board.engine
    assert await scalar(engine, "SELECT COUNT(*) FROM tasks WHERE parent_id IS NOT NULL") == (
        subtasks
    )
    assert await scalar(engine, "SELECT COUNT(*) FROM tasks WHERE status = 'todo'") == BATCH_SIZE
    # Amounts are stored in hundredths.
    escrowed = bounties * int(BOUNTY * 100)
    assert await scalar(engine, "SELECT SUM(bounty) FROM tasks") == escrowed
    assert (
        await scalar(
            engine,
            "SELECT COALESCE(SUM(delta), 0) FROM ledger_postings WHERE account LIKE 'escrow:%'",
        )
        == escrowed
    )
    assert await scalar(engine, "SELECT balance FROM wallets") == int(FUNDS * 100) - escrowed


def changed(command: CreateTaskCommand, **changes: Any) -> CreateTaskCommand:
    """The row with `changes`, validated as a row read from a file would be."""
    return CreateTaskCommand.model_validate({**command.model_dump(), **changes})


def unknown_parent(command: CreateTaskCommand) -> CreateTaskCommand:
    return changed(command, parent_id=uuid4())


def dependency_on_a_missing_task(command: CreateTaskCommand) -> CreateTaskCommand:
    return changed(command, dependency_ids=[uuid4()])


def bounty_beyond_the_funds(command: CreateTaskCommand) -> CreateTaskCommand:
    return changed(command, bounty=FUNDS)


@pytest.mark.parametrize(
    ("refuse", "refusal"),
    [
        (unknown_parent, NotFound),
        (dependency_on_a_missing_task, NotFound),
        # Earlier rows' escrow entries were already sent to the database when this one fails.
        (bounty_beyond_the_funds, InsufficientFunds),
    ],
    ids=["unknown parent", "dependency on a missing task", "bounty beyond the funds"],
)
async def test_a_row_refused_in_the_middle_of_a_hundred_thousand_is_named_and_nothing_is_stored(
    board: Board,
    refuse: Callable[[CreateTaskCommand], CreateTaskCommand],
    refusal: type[DomainError],
) -> None:
    # Tasks, dependencies and escrow already stored, so that "unchanged" covers every table.
    uow_factory, creator = board.uow_factory, board.creator
    first = await CreateTask(uow_factory)(
        CreateTaskCommand(creator_id=creator.user_id, title="stored before", bounty=BOUNTY)
    )
    second = await CreateTask(uow_factory)(
        CreateTaskCommand(creator_id=creator.user_id, title="stored after", parent_id=first.id)
    )
    await AddDependency(uow_factory)(
        AddDependencyCommand(task_id=second.id, depends_on_id=first.id)
    )
    await Idempotent(CreateTask, uow_factory, "create_task")(
        CreateTaskCommand(creator_id=creator.user_id, title="stored once"), idempotency_key="once"
    )
    async with uow_factory() as uow:
        await uow.processed_messages.add(uuid4(), "a handler", at=utc_now())
        await uow.commit()
    before = await everything(board.engine)
    assert all(before.values()), "every table holds rows before the import"

    commands = batch(creator)
    commands[MIDDLE] = refuse(commands[MIDDLE])
    with pytest.raises(BatchItemRefused) as refused:
        await CreateTasks(uow_factory)(CreateTasksCommand(tasks=commands))

    assert refused.value.index == MIDDLE
    assert type(refused.value.cause) is refusal
    assert f"item {MIDDLE + 1}:" in str(refused.value)
    assert await everything(board.engine) == before
