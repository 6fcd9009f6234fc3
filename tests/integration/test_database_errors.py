"""Database failures reach callers as Keel's own errors, with nothing applied."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Connection, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm.exc import StaleDataError

from application.errors import DatabaseUnavailable, RetryableError
from application.use_cases import DepositCredits, DepositCreditsCommand
from domain.errors import ConcurrencyConflict
from infrastructure.database import migrations
from infrastructure.database.engine import create_engine
from infrastructure.database.errors import translate_database_error, translated_database_errors
from tests.builders import balance_of, stored_wallet
from tests.conftest import migrated_sqlite_engine, sql_uow_factory, sqlite_settings


async def test_a_write_lock_held_beyond_the_busy_timeout_is_retryable_and_applies_nothing(
    database_path: Path,
) -> None:
    async with migrated_sqlite_engine(database_path) as engine:
        wallet = await stored_wallet(sql_uow_factory(engine), balance="10")
    impatient = create_engine(sqlite_settings(database_path, sqlite_busy_timeout_seconds=0.05))
    other_writer = sqlite3.connect(database_path, isolation_level=None)
    try:
        other_writer.execute("BEGIN IMMEDIATE")
        deposit = DepositCredits(sql_uow_factory(impatient))
        command = DepositCreditsCommand.model_validate({"wallet_id": wallet.id, "amount": "5"})
        with pytest.raises(RetryableError, match="locked"):
            await deposit(command)
        other_writer.execute("ROLLBACK")
        assert await balance_of(sql_uow_factory(impatient), wallet) == 10
    finally:
        other_writer.close()
        await impatient.dispose()


async def test_a_file_that_is_not_a_database_is_unavailable(tmp_path: Path) -> None:
    not_a_database = tmp_path / "notes.db"
    not_a_database.write_text("these are not the tables you are looking for\n" * 100)
    engine = create_engine(sqlite_settings(not_a_database))
    try:
        with (
            pytest.raises(DatabaseUnavailable, match="file is not a database"),
            translated_database_errors(),
        ):
            await migrations.upgrade(engine)
    finally:
        await engine.dispose()


def test_a_stale_version_is_a_concurrency_conflict() -> None:
    translated = translate_database_error(StaleDataError("expected to update 1 row, updated 0"))
    assert isinstance(translated, ConcurrencyConflict)


@pytest.mark.parametrize("sqlstate", ["40001", "40P01", "55P03"])
def test_serialization_failures_and_deadlocks_are_retryable(sqlstate: str) -> None:
    class DriverError(Exception):
        def __init__(self) -> None:
            super().__init__("could not serialize access")
            self.sqlstate = sqlstate

    error = DBAPIError("COMMIT", None, DriverError())
    assert isinstance(translate_database_error(error), RetryableError)


def test_an_error_that_is_not_the_databases_is_left_alone() -> None:
    assert translate_database_error(ValueError("not ours")) is None


async def test_a_failed_commit_leaves_no_open_transaction_for_the_next_unit(
    engine: AsyncEngine,
) -> None:
    uow_factory = sql_uow_factory(engine)
    wallet = await stored_wallet(uow_factory, balance="10")
    deposit = DepositCredits(uow_factory)
    command = DepositCreditsCommand.model_validate({"wallet_id": wallet.id, "amount": "5"})
    failures = [OSError("the disk failed at COMMIT")]

    def fail_once(_connection: Connection) -> None:
        if failures:
            raise failures.pop()

    event.listen(engine.sync_engine, "commit", fail_once)
    try:
        with pytest.raises(OSError, match="at COMMIT"):
            await deposit(command)
    finally:
        event.remove(engine.sync_engine, "commit", fail_once)

    # Every pooled connection is usable again: each of these units would otherwise inherit
    # the failed unit's open transaction (and, on SQLite, its write lock).
    for _ in range(3):
        await deposit(command)
    assert await balance_of(uow_factory, wallet) == 25
