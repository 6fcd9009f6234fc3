"""The engine factory: database URLs normalized to the async drivers, SQLite made safe to share."""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from infrastructure.settings import KeelSettings

READ_ONLY_OPTION = "keel_read_only"
"""Connection execution option: the unit only reads, so SQLite may begin without the write lock."""

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
# PRAGMA takes no bound parameters, so each allowed statement is spelled out here.
_SYNCHRONOUS_PRAGMAS = {
    level: f"PRAGMA synchronous={level}" for level in ("OFF", "NORMAL", "FULL", "EXTRA")
}


class DatabaseUrlError(ValueError):
    """The configured database URL is not one Keel can use."""


def normalize_database_url(raw: str) -> URL:
    """The URL with its scheme mapped to Keel's async driver (aiosqlite or asyncpg)."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise DatabaseUrlError("the database URL is not a valid URL") from None
    driver = _ASYNC_DRIVERS.get(url.drivername)
    if driver is None:
        raise DatabaseUrlError(
            f"unsupported database URL scheme {url.drivername!r}: use sqlite:// or postgresql://"
        )
    url = url.set(drivername=driver)
    if driver == "sqlite+aiosqlite":
        _check_sqlite_path(url.database)
    return url


def _check_sqlite_path(path: str | None) -> None:
    if path in (None, "", ":memory:"):
        raise DatabaseUrlError(
            "an in-memory SQLite database cannot isolate concurrent units: give a file path"
        )
    assert path is not None
    if not os.path.isdir(os.path.dirname(path) or "."):
        raise DatabaseUrlError(f"the directory of the SQLite file {path} does not exist")


def missing_sqlite_file(settings: KeelSettings) -> str | None:
    """The path of a configured SQLite file that does not exist yet, else None.

    Connecting would create an empty file; callers that only read check this first.
    """
    url = normalize_database_url(settings.database_url.get_secret_value())
    if url.get_backend_name() != "sqlite" or url.database is None:
        return None
    return None if os.path.exists(url.database) else url.database


def redacted(url: URL) -> str:
    """The URL as it may be shown to people and logs: without its password."""
    return url.render_as_string(hide_password=True)


def create_engine(settings: KeelSettings) -> AsyncEngine:
    url = normalize_database_url(settings.database_url.get_secret_value())
    options: dict[str, Any] = {
        "echo": settings.echo_sql,
        "pool_size": settings.pool_size,
        "max_overflow": settings.max_overflow,
        "pool_timeout": settings.pool_timeout_seconds,
        "pool_recycle": settings.pool_recycle_seconds,
    }
    if url.get_backend_name() == "sqlite":
        # Every call to aiosqlite is a hop to its thread. A local file has no connection to
        # go stale, so no pre-ping; and a unit always ends its transaction before the
        # connection goes back, so the pool's extra rollback on return would only cost a hop.
        options["pool_reset_on_return"] = None
        options["connect_args"] = {"timeout": settings.sqlite_busy_timeout_seconds}
    else:
        options["pool_pre_ping"] = settings.pool_pre_ping
        # SQLAlchemy's adapter and asyncpg itself each cache prepared statements; a server
        # behind a transaction pooler (pgbouncer) needs both at 0.
        options["connect_args"] = {
            "prepared_statement_cache_size": settings.statement_cache_size,
            "statement_cache_size": settings.statement_cache_size,
        }
        if settings.isolation_level is not None:
            options["isolation_level"] = settings.isolation_level
    engine = create_async_engine(url, **options)
    if url.get_backend_name() == "sqlite":
        _take_over_sqlite_transactions(engine, _SYNCHRONOUS_PRAGMAS[settings.sqlite_synchronous])
    return engine


def unit_execution_options(*, read_only: bool) -> dict[str, bool]:
    """How a unit's connection begins: read-only units take no write lock anywhere."""
    if read_only:
        return {READ_ONLY_OPTION: True, "postgresql_readonly": True}
    return {READ_ONLY_OPTION: False}


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects must stay readable after commit: under asyncio an expired attribute cannot load.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def _take_over_sqlite_transactions(engine: AsyncEngine, synchronous_pragma: str) -> None:
    """WAL, foreign keys, and BEGIN emitted by Keel rather than by Python's sqlite3 module.

    sqlite3 defers BEGIN until the first write, so a unit's reads run outside its transaction
    and two writers can both read a balance before either locks it (a lost update). Writing
    units begin IMMEDIATE: they take the write lock first and wait out the busy timeout.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _configure_connection(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(synchronous_pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")
