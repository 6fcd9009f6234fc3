"""The engine factory: database URLs normalized to the async drivers, SQLite made safe to share."""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from infrastructure.database.sqlite_driver import OneHopConnection, one_hop_dbapi
from infrastructure.settings import KeelSettings

READ_ONLY_OPTION = "keel_read_only"
_CHECKED_IN_AT = "keel_checked_in_at"
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
        options["module"] = one_hop_dbapi()
    else:
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
    elif settings.pool_pre_ping:
        _ping_after_idle(engine, settings.pool_pre_ping_idle_seconds)
    return engine


def unit_execution_options(*, read_only: bool) -> dict[str, bool]:
    """How a unit's connection begins: read-only units take no write lock anywhere.

    Writers need no option (a connection begins as a writer), and so skip the cost of one.
    """
    if read_only:
        return {READ_ONLY_OPTION: True, "postgresql_readonly": True}
    return {}


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
        driver = connection.connection.dbapi_connection
        assert isinstance(driver, OneHopConnection)
        # Sent with the unit's first statement, in the same hop (see sqlite_driver).
        driver.defer_begin("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def _ping_after_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """The pool's pre-ping, for connections that sat in the pool `idle_seconds` or longer.

    On asyncpg a ping is three round trips (BEGIN, an empty query, ROLLBACK): before every
    unit it would cost more than the unit's own statements. A connection checked in moments
    ago is as alive as a ping could show; one that waited may have lost its server.
    """
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _note_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping_if_idle(
        dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        checked_in = record.info.get(_CHECKED_IN_AT)
        # A connection without one has just been made: nothing to check yet.
        if checked_in is None or time.monotonic() - checked_in < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                # The pool replaces the connection and tries again.
                raise DisconnectionError(f"a pooled connection was lost: {error}") from error
            raise
