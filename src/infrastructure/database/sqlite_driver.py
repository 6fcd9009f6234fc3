"""SQLAlchemy's aiosqlite adapter, with fewer hops to the connection's thread.

aiosqlite runs every sqlite3 call on a thread of its own, and each call is a hop to that
thread and back through the event loop (about 50 µs here, more than most statements take).
SQLAlchemy's adapter spends four hops on a statement: open a cursor, execute, fetch, close.
Here the whole cycle is one hop; BEGIN waits for the unit's first statement and goes with it;
COMMIT or ROLLBACK of a connection with no transaction open costs nothing; and Keel's own
statements can run several to a hop (`OneHopConnection.run`), its last writes in the hop of
the COMMIT (`OneHopConnection.write_at_commit`). Streaming (server-side) cursors
keep SQLAlchemy's class: they fetch in chunks by design.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    AsyncAdapt_aiosqlite_ss_cursor,
)
from sqlalchemy.util import await_only

T = TypeVar("T")
Description = tuple[tuple[Any, ...], ...] | None
Parameters = Sequence[Any] | Mapping[str, Any]
ManyParameters = Sequence[Sequence[Any]] | Sequence[Mapping[str, Any]]


class _StatementOutcome:
    """What a finished sqlite3 cursor leaves behind, read in the connection's thread."""

    __slots__ = ("description", "lastrowid", "rowcount", "rows")

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self.description: Description = cursor.description
        self.rows = cursor.fetchall() if cursor.description else []
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_in_transaction", "_pending_begin", "_writes_at_commit")

    def __init__(self, dbapi: Any, connection: aiosqlite.Connection) -> None:
        super().__init__(dbapi, cast(Any, connection))
        self._pending_begin: str | None = None
        self._in_transaction = False
        self._writes_at_commit: Callable[[sqlite3.Connection], None] | None = None

    def cursor(self, server_side: bool = False) -> Any:
        if server_side:
            await_only(self.begin_if_pending())
            return AsyncAdapt_aiosqlite_ss_cursor(self)
        return OneHopCursor(self)

    def defer_begin(self, statement: str) -> None:
        """Send `statement` (a BEGIN) in the same hop as the next statement."""
        self._pending_begin = statement

    async def begin_if_pending(self) -> None:
        if self._pending_begin is not None:
            await self.run(lambda _connection: None)

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on the sqlite3 connection in its thread: one hop, with a pending BEGIN."""
        begin, self._pending_begin = self._pending_begin, None
        driver = cast(aiosqlite.Connection, self._connection)
        in_transaction = [self._in_transaction]

        def in_thread() -> T:
            connection = driver._conn
            try:
                if begin is not None:
                    connection.execute(begin)
                return work(connection)
            finally:
                in_transaction[0] = connection.in_transaction

        try:
            # aiosqlite's public methods are each one such call around one sqlite3 method;
            # this is the queueing method they share (SQLAlchemy's adapter queues there too).
            return cast(T, await driver._execute(in_thread))  # type: ignore[no-untyped-call]
        finally:
            self._in_transaction = in_transaction[0]

    def write_at_commit(self, writes: Callable[[sqlite3.Connection], None] | None) -> None:
        """Run `writes` in the hop of the next COMMIT, just before it; None withdraws them.

        The COMMIT is still SQLAlchemy's: its events fire, and a failure is handled, as for
        any other commit, and a COMMIT that never happens never sends the writes.
        """
        self._writes_at_commit = writes

    def commit(self) -> None:
        writes, self._writes_at_commit = self._writes_at_commit, None
        if writes is None:
            self._end_transaction(lambda connection: connection.commit())
            return

        def write_and_commit(connection: sqlite3.Connection) -> None:
            writes(connection)
            connection.commit()

        self._run_blocking(write_and_commit)

    def rollback(self) -> None:
        self._writes_at_commit = None
        self._end_transaction(lambda connection: connection.rollback())

    def _end_transaction(self, end: Callable[[sqlite3.Connection], None]) -> None:
        # A BEGIN still pending never reached the database: there is nothing to end.
        self._pending_begin = None
        if self._in_transaction:
            self._run_blocking(end)

    def _run_blocking(self, work: Callable[[sqlite3.Connection], None]) -> None:
        try:
            await_only(self.run(work))
        except Exception as error:
            self._handle_exception(error)


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A DBAPI cursor whose execute runs, fetches and closes a sqlite3 cursor in one hop."""

    __slots__ = ("_outcome",)

    _adapt_connection: OneHopConnection

    def __init__(self, adapt_connection: OneHopConnection) -> None:
        # No aiosqlite cursor is opened up front: that would be a hop of its own.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._rows = deque()
        self._outcome: _StatementOutcome | None = None

    @property
    def description(self) -> Description:
        return None if self._outcome is None else self._outcome.description

    @property
    def rowcount(self) -> int:
        return -1 if self._outcome is None else self._outcome.rowcount

    @property
    def lastrowid(self) -> int:
        lastrowid = None if self._outcome is None else self._outcome.lastrowid
        return 0 if lastrowid is None else lastrowid

    def execute(self, operation: Any, parameters: Parameters | None = None) -> None:
        self._finish(lambda cursor: cursor.execute(operation, parameters or ()))

    def executemany(self, operation: Any, seq_of_parameters: ManyParameters) -> None:
        self._finish(lambda cursor: cursor.executemany(operation, seq_of_parameters))

    def _finish(self, execute: Callable[[sqlite3.Cursor], object]) -> None:
        def work(connection: sqlite3.Connection) -> _StatementOutcome:
            cursor = connection.cursor()
            try:
                execute(cursor)
                return _StatementOutcome(cursor)
            finally:
                cursor.close()

        try:
            self._outcome = await_only(self._adapt_connection.run(work))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._rows = deque(self._outcome.rows)

    async def _async_soft_close(self) -> None:
        """Nothing to close: the sqlite3 cursor was closed in the hop that ran it."""

    def close(self) -> None:
        self._rows.clear()


class OneHopAiosqlite(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module for `create_async_engine(..., module=...)`: connections as above."""

    def connect(self, *args: Any, **kwargs: Any) -> OneHopConnection:
        adapted = super().connect(*args, **kwargs)
        return OneHopConnection(self, adapted._connection)  # type: ignore[arg-type]


def one_hop_dbapi() -> OneHopAiosqlite:
    return OneHopAiosqlite(aiosqlite, sqlite3)
