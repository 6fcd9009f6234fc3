"""The engine factory: URL normalization, backend settings, exact storage, secrets kept."""

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from infrastructure.database.engine import (
    DatabaseUrlError,
    create_engine,
    normalize_database_url,
    redacted,
)
from infrastructure.settings import KeelSettings
from tests.builders import balance_of, stored_wallet
from tests.conftest import sql_uow_factory, sqlite_settings
from tests.databases import Databases, settings_for


@pytest.mark.parametrize(
    ("raw", "driver"),
    [
        ("sqlite:///keel.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///keel.db", "sqlite+aiosqlite"),
        ("postgresql://keel:secret@db/keel", "postgresql+asyncpg"),
        ("postgres://keel:secret@db/keel", "postgresql+asyncpg"),
        ("postgresql+asyncpg://keel:secret@db/keel", "postgresql+asyncpg"),
    ],
)
def test_urls_are_normalized_to_the_async_drivers(raw: str, driver: str) -> None:
    url = normalize_database_url(raw)
    assert url.drivername == driver
    assert url.database in {"keel.db", "keel"}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("mysql://db/keel", "unsupported database URL scheme 'mysql'"),
        ("postgresql+psycopg2://db/keel", "unsupported"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("not a url", "not a valid URL"),
    ],
)
def test_unusable_urls_are_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(DatabaseUrlError, match=reason):
        normalize_database_url(raw)


def test_the_password_never_shows() -> None:
    settings = KeelSettings.model_validate(
        {"database_url": "postgresql://keel:hunter2@db.internal/keel"}
    )
    url = normalize_database_url(settings.database_url.get_secret_value())
    assert "hunter2" not in redacted(url)
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())


async def test_sqlite_connections_use_wal_foreign_keys_and_the_configured_sync(
    database_path: Path,
) -> None:
    engine = create_engine(sqlite_settings(database_path, sqlite_synchronous="NORMAL"))
    try:
        async with engine.connect() as connection:
            journal = await connection.scalar(text("PRAGMA journal_mode"))
            foreign_keys = await connection.scalar(text("PRAGMA foreign_keys"))
            synchronous = await connection.scalar(text("PRAGMA synchronous"))
    finally:
        await engine.dispose()
    assert (journal, foreign_keys, synchronous) == ("wal", 1, 1)


async def test_balances_are_stored_as_exact_integers_never_floats(
    sqlite_engine: AsyncEngine,
) -> None:
    wallet = await stored_wallet(sql_uow_factory(sqlite_engine), balance="0.29")
    async with sqlite_engine.connect() as connection:
        row = (
            await connection.execute(
                text("SELECT balance, typeof(balance) FROM wallets WHERE id = :id"),
                {"id": wallet.id.hex},
            )
        ).one()
    assert tuple(row) == (29, "integer")


def test_a_sqlite_file_in_a_missing_directory_is_refused_before_connecting(
    tmp_path: Path,
) -> None:
    with pytest.raises(DatabaseUrlError, match=r"directory .* does not exist"):
        normalize_database_url(f"sqlite:///{tmp_path}/missing/keel.db")


async def test_postgres_engines_take_pool_and_statement_cache_settings_from_keel(
    databases: Databases,
) -> None:
    engine = await databases.engine(
        "postgres",
        pool_size=3,
        max_overflow=2,
        pool_timeout_seconds=7,
        pool_recycle_seconds=60,
        statement_cache_size=0,
    )
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    assert (pool.size(), pool.timeout()) == (3, 7)
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        adapter, driver_connection = raw.dbapi_connection, raw.driver_connection
        assert adapter is not None
        assert driver_connection is not None
        # Both prepared-statement caches, SQLAlchemy's and asyncpg's, are off as asked.
        assert getattr(adapter, "_prepared_statement_cache") is None  # noqa: B009
        assert driver_connection._stmt_cache.get_max_size() == 0
        assert await connection.scalar(text("SELECT 1")) == 1


async def test_postgres_connections_are_pinged_only_after_sitting_idle(
    databases: Databases, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = await databases.engine(
        "postgres", pool_size=1, max_overflow=0, pool_pre_ping_idle_seconds=0.2
    )
    pings: list[object] = []
    dialect = engine.sync_engine.dialect
    real_ping = dialect.do_ping

    def counted_ping(connection: Any) -> bool:
        pings.append(connection)
        return real_ping(connection)

    monkeypatch.setattr(dialect, "do_ping", counted_ping)
    uow_factory = sql_uow_factory(engine)
    wallet = await stored_wallet(uow_factory)
    for _ in range(3):
        await balance_of(uow_factory, wallet)
    assert pings == [], "a connection back in the pool moments ago was pinged"

    # The server drops the pooled connection while it sits idle: the ping finds out, and
    # the pool hands out a new connection instead of failing the unit.
    async with engine.connect() as connection:
        backend_pid = await connection.scalar(text("SELECT pg_backend_pid()"))
    await _terminate(databases, backend_pid)
    await asyncio.sleep(0.3)
    assert await balance_of(uow_factory, wallet) == 0
    assert len(pings) == 1


async def _terminate(databases: Databases, backend_pid: int) -> None:
    admin = create_engine(settings_for(await databases.url("postgres")))
    try:
        async with admin.connect() as connection:
            await connection.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": backend_pid}
            )
    finally:
        await admin.dispose()
