"""The unit's own statements, sent straight to the driver on the unit's connection.

Reads go out one at a time. Writes wait in a `WriteBatch` until the unit flushes, and then
go out together (see `drivers`): on SQLite in one hop to the connection's thread, at commit
the hop of the COMMIT itself.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.database.drivers import Write, driver_for
from infrastructure.database.statements import DriverStatement

_COMPILED: dict[tuple[str, str, Hashable], DriverStatement] = {}
"""Keel's statements, compiled once per dialect and driver."""

StatementObserver = Callable[[str, int], None]
"""Told of each of Keel's own statements just before it is sent: its SQL, and how many rows
of parameters it carries. An observer that raises stops the statement (and the rest of its
batch) from being sent."""

_OBSERVERS: WeakKeyDictionary[Engine, list[StatementObserver]] = WeakKeyDictionary()


def observe_statements(engine: AsyncEngine, observer: StatementObserver) -> Callable[[], None]:
    """Have `observer` told of the statements Keel sends itself on `engine`; returns the
    function that stops it.

    Keel's wallet, ledger and outbox statements go straight to the driver, past SQLAlchemy's
    cursor events (which every other statement still passes through).
    """
    observers = _OBSERVERS.setdefault(engine.sync_engine, [])
    observers.append(observer)
    return lambda: observers.remove(observer)


@dataclass
class WriteBatch:
    writes: list[Write] = field(default_factory=list)
    on_written: list[Callable[[], None]] = field(default_factory=list)
    """Run once the writes are in: repositories take note of what the rows now hold."""

    def add(
        self,
        statement: DriverStatement,
        rows: Sequence[Mapping[str, Any]],
        *,
        each_changes_one_row: bool = False,
    ) -> None:
        if not rows:
            return
        converted = [statement.parameters(row) for row in rows]
        for write in self.writes:
            # Rows of one statement go together, in the place of its first: entries before
            # their postings, whatever else the unit wrote in between.
            if write.statement is statement and write.each_changes_one_row is each_changes_one_row:
                write.rows.extend(converted)
                return
        self.writes.append(Write(statement, converted, each_changes_one_row))

    def written(self) -> None:
        """The writes are in: tell the repositories, and start an empty batch."""
        for note_written in self.on_written:
            note_written()
        self.clear()

    def clear(self) -> None:
        self.writes.clear()
        self.on_written.clear()


class StatementChannel:
    """Statements on the connection of one unit; `pending` holds its writes."""

    def __init__(self, engine: Engine, dbapi_connection: Any) -> None:
        self._engine = engine
        self.pending = WriteBatch()
        self._driver = driver_for(dbapi_connection, self._observe)

    def statement(
        self, key: Hashable, build: Callable[[Dialect], DriverStatement]
    ) -> DriverStatement:
        dialect = self._engine.dialect
        cache_key = (dialect.name, dialect.driver, key)
        statement = _COMPILED.get(cache_key)
        if statement is None:
            statement = _COMPILED[cache_key] = build(dialect)
        return statement

    async def fetch(
        self, statement: DriverStatement, values: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        parameters = statement.parameters(values)
        rows = await self._driver.fetch(statement.sql, parameters)
        return [statement.row(row) for row in rows]

    async def write_pending(self) -> None:
        """Send the pending writes now. If one fails, they all stay pending: on SQLite none
        of them landed; on PostgreSQL the failure aborted the transaction, as any does."""
        batch = self.pending
        if not batch.writes:
            return
        await self._driver.write(batch.writes)
        batch.written()

    async def prepare_commit(self) -> None:
        """Get the pending writes ready for the unit's COMMIT: on SQLite they go in its hop,
        elsewhere now. Call `end_commit` once the COMMIT is over, whatever its outcome."""
        if self.pending.writes:
            await self._driver.write_at_commit(self.pending.writes)

    def end_commit(self, *, committed: bool) -> None:
        self._driver.end_commit()
        if committed:
            self.pending.written()

    def _observe(self, sql: str, rows: int) -> None:
        for observer in _OBSERVERS.get(self._engine, ()):
            observer(sql, rows)
