"""What a unit sends to the database (its own statements, batched, in few round trips) and how
long it holds its connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import greenlet_spawn

from application.events.handlers import EventHandlers
from application.ports.unit_of_work import AbstractUnitOfWork
from application.use_cases import (
    DepositCredits,
    DepositCreditsCommand,
    TransferCredits,
    TransferCreditsCommand,
)
from domain.events import CreditsDeposited, DomainEvent, utc_now
from domain.ledger import EntryKind
from infrastructure.database.channel import StatementChannel, observe_statements
from infrastructure.database.drivers import UnsupportedEngine
from infrastructure.database.repositories.delivery import _insert_messages
from infrastructure.database.repositories.ledger import _insert_entry
from infrastructure.database.sqlite_driver import OneHopConnection
from infrastructure.database.unit_connection import UnitConnection
from tests.builders import balance_of, stored_wallet
from tests.conftest import sql_uow_factory
from tests.databases import Databases


@contextmanager
def statements_of(engine: AsyncEngine) -> Iterator[tuple[list[str], list[str]]]:
    """(Keel's own statements, statements through SQLAlchemy's cursors) sent meanwhile."""
    own: list[str] = []
    through_cursors: list[str] = []

    def heard(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        through_cursors.append(statement)

    stop = observe_statements(engine, lambda sql, _rows: own.append(sql.split()[0]))
    event.listen(engine.sync_engine, "before_cursor_execute", heard)
    try:
        yield own, through_cursors
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", heard)
        stop()


@asynccontextmanager
async def unit_channel(
    engine: AsyncEngine,
) -> AsyncIterator[tuple[UnitConnection, StatementChannel]]:
    """A writing unit's connection and channel, rolled back at the end."""
    unit = await UnitConnection.open(engine.sync_engine, read_only=False)
    try:
        yield unit, StatementChannel(engine.sync_engine, unit.dbapi_connection)
    finally:
        await unit.rollback()
        await unit.close()


async def test_a_transfer_sends_only_keels_own_statements(engine: AsyncEngine) -> None:
    uow_factory = sql_uow_factory(engine)
    source = await stored_wallet(uow_factory, balance="10")
    target = await stored_wallet(uow_factory)
    command = TransferCreditsCommand.model_validate(
        {"source_wallet_id": source.id, "target_wallet_id": target.id, "amount": "4"}
    )
    with statements_of(engine) as (own, through_cursors):
        await TransferCredits(uow_factory)(command)
    # Both wallets in one SELECT; at commit the entry, its postings, the outbox message and
    # both wallets' updates (on PostgreSQL as one statement): no ORM flush, no statement
    # through a cursor.
    if engine.dialect.name == "sqlite":
        assert own == ["SELECT", "INSERT", "INSERT", "INSERT", "UPDATE"]
    else:
        assert own == ["SELECT", "WITH"]
    assert through_cursors == []
    assert await balance_of(uow_factory, target) == 4


async def test_a_transfer_on_sqlite_is_two_hops_to_the_connections_thread(
    sqlite_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    uow_factory = sql_uow_factory(sqlite_engine)
    source = await stored_wallet(uow_factory, balance="10")
    target = await stored_wallet(uow_factory)
    hops: list[str] = []
    real_run = OneHopConnection.run

    async def counted_run(self: OneHopConnection, work: Any) -> Any:
        hops.append(getattr(work, "__qualname__", repr(work)))
        return await real_run(self, work)

    monkeypatch.setattr(OneHopConnection, "run", counted_run)
    command = TransferCreditsCommand.model_validate(
        {"source_wallet_id": source.id, "target_wallet_id": target.id, "amount": "4"}
    )
    await TransferCredits(uow_factory)(command)
    # BEGIN IMMEDIATE with the SELECT; the writes with the COMMIT.
    assert len(hops) == 2, hops
    assert await balance_of(uow_factory, source) == 6


async def test_a_failed_write_leaves_none_of_its_batch_and_stays_pending(
    sqlite_engine: AsyncEngine,
) -> None:
    async with unit_channel(sqlite_engine) as (unit, channel):
        now = utc_now()
        message = {
            "id": uuid4(),
            "event_type": "Deposited",
            "payload": "{}",
            "occurred_at": now,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        }
        entry = {"id": uuid4(), "kind": EntryKind.DEPOSIT.value, "created_at": now}
        messages = channel.statement("insert messages", _insert_messages)
        entries = channel.statement("insert entry", _insert_entry)
        # The batch's second write repeats a key: it fails after the first one went in.
        channel.pending.add(messages, [message])
        channel.pending.add(entries, [entry, entry])
        with pytest.raises(IntegrityError):
            await channel.write_pending()
        stored = await greenlet_spawn(
            unit.connection.scalar, text("SELECT count(*) FROM outbox_messages")
        )
        assert stored == 0, "the write before the failing one stayed"
        assert [len(write.rows) for write in channel.pending.writes] == [1, 2]
        channel.pending.clear()
        channel.pending.add(entries, [entry])
        await channel.write_pending()
        stored = await greenlet_spawn(
            unit.connection.scalar, text("SELECT count(*) FROM ledger_entries")
        )
        assert stored == 1


async def test_an_observer_that_raises_keeps_the_statement_from_being_sent(
    engine: AsyncEngine,
) -> None:
    uow_factory = sql_uow_factory(engine)
    source = await stored_wallet(uow_factory, balance="10")
    target = await stored_wallet(uow_factory)

    class Refused(Exception):
        pass

    def refuse_writes(sql: str, _rows: int) -> None:
        if not sql.startswith("SELECT"):
            raise Refused

    stop = observe_statements(engine, refuse_writes)
    try:
        command = TransferCreditsCommand.model_validate(
            {"source_wallet_id": source.id, "target_wallet_id": target.id, "amount": "4"}
        )
        with pytest.raises(Refused):
            await TransferCredits(uow_factory)(command)
    finally:
        stop()
    assert await balance_of(uow_factory, source) == 10
    assert await balance_of(uow_factory, target) == 0


async def test_a_batched_value_too_long_for_its_column_is_refused_not_cut(
    databases: Databases,
) -> None:
    engine = await databases.engine("postgres")
    async with unit_channel(engine) as (_unit, channel):
        kind = "k" * 17  # the column holds 16
        row = {"id": uuid4(), "kind": kind, "created_at": utc_now()}
        channel.pending.add(channel.statement("insert entry", _insert_entry), [row])
        with pytest.raises(DBAPIError, match="too long"):
            await channel.write_pending()


async def test_an_engine_not_made_by_keel_is_refused_with_the_reason(
    database_path: Path,
) -> None:
    foreign = create_async_engine(f"sqlite+aiosqlite:///{database_path}")
    try:
        uow = sql_uow_factory(foreign)()
        with pytest.raises(UnsupportedEngine, match="create_engine"):
            async with uow:
                pass
    finally:
        await foreign.dispose()


async def test_handlers_run_after_commit_even_with_a_pool_of_one_connection(
    databases: Databases, sql_backend: str
) -> None:
    # A unit gives its connection back when it commits: its handlers' units need one too.
    engine = await databases.engine(
        sql_backend, pool_size=1, max_overflow=0, pool_timeout_seconds=1
    )
    handled: list[DomainEvent] = []

    async def record(event: DomainEvent, _uow: AbstractUnitOfWork) -> None:
        handled.append(event)

    handlers = EventHandlers()
    handlers.register(CreditsDeposited, "record", record)
    uow_factory = sql_uow_factory(engine, handlers=handlers)
    wallet = await stored_wallet(uow_factory)
    command = DepositCreditsCommand.model_validate({"wallet_id": wallet.id, "amount": "3"})
    await DepositCredits(uow_factory)(command)
    assert [type(event) for event in handled] == [CreditsDeposited]
