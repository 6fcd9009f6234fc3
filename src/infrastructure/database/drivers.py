"""How Keel's own statements reach each driver, below SQLAlchemy's per-statement work.

Each driver runs reads and batches of writes on the unit's connection, inside the
transaction SQLAlchemy opened (or is about to open) there, and raises errors as SQLAlchemy
would have, so that the one error translator reads them all.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, cast

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from infrastructure.database.postgres_batch import combined
from infrastructure.database.sqlite_driver import OneHopConnection
from infrastructure.database.statements import DriverStatement


@dataclass(frozen=True, slots=True)
class Write:
    statement: DriverStatement
    rows: list[tuple[Any, ...]]
    each_changes_one_row: bool
    """A versioned UPDATE: a row it does not find was changed by another unit."""


class Driver(Protocol):
    async def fetch(self, sql: str, parameters: tuple[Any, ...]) -> Sequence[Sequence[Any]]: ...

    async def write(self, writes: list[Write]) -> None:
        """All of `writes`, or, if one fails, none of them."""

    async def write_at_commit(self, writes: list[Write]) -> None:
        """`writes`, sent before the session's next COMMIT (in its hop, where it can)."""

    def end_commit(self) -> None:
        """The COMMIT is over: withdraw writes that never went."""


Observe = Callable[[str, int], None]
"""Told of each statement just before a driver sends it: its SQL, its rows of parameters."""


class UnsupportedEngine(TypeError):
    """The engine was not made by Keel's `create_engine`, so Keel cannot drive it."""


def driver_for(dbapi_connection: Any, observe: Observe) -> Driver:
    if isinstance(dbapi_connection, OneHopConnection):
        return SqliteDriver(dbapi_connection, observe)
    if isinstance(dbapi_connection, AsyncAdapt_asyncpg_connection):
        return AsyncpgDriver(dbapi_connection, observe)
    raise UnsupportedEngine(
        "units of work need an engine from infrastructure.database.engine.create_engine "
        f"(SQLite through aiosqlite, or PostgreSQL through asyncpg), not {type(dbapi_connection)}"
    )


class SqliteDriver:
    """Reads in one hop each; a batch of writes in one hop, at commit the COMMIT's."""

    def __init__(self, connection: OneHopConnection, observe: Observe) -> None:
        self._connection = connection
        self._observe = observe

    async def fetch(self, sql: str, parameters: tuple[Any, ...]) -> Sequence[Sequence[Any]]:
        self._observe(sql, 1)

        def work(connection: sqlite3.Connection) -> list[Any]:
            cursor = connection.cursor()
            try:
                return cursor.execute(sql, parameters).fetchall()
            finally:
                cursor.close()

        return await self._run(sql, parameters, work)  # type: ignore[no-any-return]

    async def write(self, writes: list[Write]) -> None:
        self._observe_each(writes)
        await self._run(_described(writes), (), _write_all(writes, atomic=True))

    async def write_at_commit(self, writes: list[Write]) -> None:
        self._observe_each(writes)
        # No savepoint: if a write fails, the COMMIT does not happen and the unit fails.
        self._connection.write_at_commit(_write_all(writes, atomic=False))

    def _observe_each(self, writes: list[Write]) -> None:
        for write in writes:
            self._observe(write.statement.sql, len(write.rows))

    def end_commit(self) -> None:
        self._connection.write_at_commit(None)

    async def _run(
        self, sql: str, parameters: Sequence[Any], work: Callable[[sqlite3.Connection], Any]
    ) -> Any:
        try:
            return await self._connection.run(work)
        except sqlite3.Error as error:
            raise DBAPIError.instance(sql, parameters, error, sqlite3.Error) from error


def _write_all(writes: list[Write], *, atomic: bool) -> Callable[[sqlite3.Connection], None]:
    """The writes, to run in the connection's thread; `atomic` ones all land or none does."""

    def work(connection: sqlite3.Connection) -> None:
        cursor = connection.cursor()
        try:
            if not atomic:
                _write_each(cursor, writes)
                return
            cursor.execute("SAVEPOINT keel_write_batch")
            try:
                _write_each(cursor, writes)
            except BaseException:
                cursor.execute("ROLLBACK TO keel_write_batch")
                raise
            finally:
                cursor.execute("RELEASE keel_write_batch")
        finally:
            cursor.close()

    return work


def _write_each(cursor: sqlite3.Cursor, writes: list[Write]) -> None:
    for write in writes:
        if not write.each_changes_one_row:
            cursor.executemany(write.statement.sql, write.rows)
            continue
        for row in write.rows:
            cursor.execute(write.statement.sql, row)
            _check_changed(write, cursor.rowcount)


class AsyncpgDriver:
    """Straight on asyncpg (its prepared-statement cache included), in the transaction of
    SQLAlchemy's adapter: started through the adapter when Keel's statement comes first.

    A failed statement aborts a PostgreSQL transaction, so a batch never lands in part.
    """

    def __init__(self, adapter: AsyncAdapt_asyncpg_connection, observe: Observe) -> None:
        self._adapter = adapter
        self._connection = cast(asyncpg.Connection, adapter._connection)
        self._observe = observe

    async def fetch(self, sql: str, parameters: tuple[Any, ...]) -> Sequence[Sequence[Any]]:
        await self._in_transaction()
        self._observe(sql, 1)
        with self._raised_as_sqlalchemy_does(sql, parameters):
            rows: list[Sequence[Any]] = await self._connection.fetch(sql, *parameters)
            return rows

    async def write(self, writes: list[Write]) -> None:
        """The writes as one statement (see `postgres_batch`)."""
        await self._in_transaction()
        forms = [write.statement.unnest for write in writes]
        assert all(forms), "every write compiled for PostgreSQL has its batch form"
        sql, parameters = combined(
            [form for form in forms if form], [write.rows for write in writes]
        )
        self._observe(sql, sum(len(write.rows) for write in writes))
        with self._raised_as_sqlalchemy_does(sql, ()):
            changed = await self._connection.fetchrow(sql, *parameters)
        versioned = [write for write in writes if write.each_changes_one_row]
        for write, rows in zip(versioned, changed or (), strict=False):
            if rows != len(write.rows):
                raise _stale(write)

    async def write_at_commit(self, writes: list[Write]) -> None:
        await self.write(writes)

    def end_commit(self) -> None:
        """Nothing waits for the COMMIT here."""

    async def _in_transaction(self) -> None:
        if self._adapter._transaction is None:
            # The adapter would begin at its own first statement; beginning through it keeps
            # one transaction, with the isolation and read-only settings of the unit.
            await self._adapter._start_transaction()  # type: ignore[no-untyped-call]

    @contextmanager
    def _raised_as_sqlalchemy_does(self, sql: str, parameters: Sequence[Any]) -> Iterator[None]:
        """asyncpg's errors through the adapter's translation, then wrapped as SQLAlchemy
        wraps a failed statement (asyncpg's error stays reachable as the cause)."""
        try:
            yield
        except StaleDataError:
            raise
        except Exception as error:
            dbapi_error = self._adapter.dbapi.Error
            try:
                self._adapter._handle_exception(error)
            except dbapi_error as adapted:
                raise DBAPIError.instance(sql, parameters, adapted, dbapi_error) from error


def _check_changed(write: Write, rows: int) -> None:
    if rows != 1:
        raise _stale(write)


def _stale(write: Write) -> StaleDataError:
    return StaleDataError(f"a versioned row was changed by another unit: {write.statement.sql}")


def _described(writes: list[Write]) -> str:
    return "; ".join(write.statement.sql for write in writes)
