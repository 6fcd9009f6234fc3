"""Faults that a test injects into the units of work it opens, one step at a time.

On SQL the faults hang off the engine and the sessions the test itself creates: SQLAlchemy's
`before_cursor_execute` event and Keel's `observe_statements` (the k-th statement of a unit),
the session's `after_flush` event and the engine's `commit` event (the unit's writes are
out, or on SQLite queued for the COMMIT's hop; COMMIT is not sent yet), and the dialect's
`do_commit` of that engine wrapped so that it raises once the real COMMIT has returned: the
database applied the unit, its caller hears that it failed. The in-memory fake has no
statements and no flush; its units fail before or after the store takes their changes.
Nothing of production code is changed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, UOWTransaction

from application.ports.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory
from infrastructure.database.channel import observe_statements
from infrastructure.database.engine import create_session_factory
from infrastructure.database.unit_of_work import SqlAlchemyUnitOfWork
from infrastructure.in_memory import InMemoryStore, InMemoryUnitOfWork


class FaultKind(enum.Enum):
    AT_STATEMENT = "before the k-th SQL statement of the step reaches the database"
    AFTER_FLUSH = "once the unit's changes were sent (or, on SQLite, readied), before COMMIT"
    BEFORE_COMMIT = "when the unit is about to COMMIT"
    COMMIT_OUTCOME_LOST = "after COMMIT succeeded: the caller is told it failed"

    @property
    def applies_the_unit(self) -> bool:
        """Whether the unit that this fault hits was committed all the same."""
        return self is FaultKind.COMMIT_OUTCOME_LOST


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    statement: int = 0
    """For AT_STATEMENT: which statement of the step fails, counting from 1."""

    def __repr__(self) -> str:
        if self.kind is FaultKind.AT_STATEMENT:
            return f"Fault(AT_STATEMENT, statement={self.statement})"
        return f"Fault({self.kind.name})"


SQL_FAULT_KINDS = tuple(FaultKind)
MEMORY_FAULT_KINDS = (FaultKind.BEFORE_COMMIT, FaultKind.COMMIT_OUTCOME_LOST)


class InjectedFailure(Exception):
    """The failure a test injected; the caller must receive this very object, untranslated."""

    def __init__(self, fault: Fault, where: str) -> None:
        super().__init__(f"injected {fault!r} {fault.kind.value}: {where}")
        self.fault = fault


class FaultPlan:
    """Holds at most one armed fault; the first point that matches it raises, once."""

    def __init__(self) -> None:
        self.armed: Fault | None = None
        self.fired: InjectedFailure | None = None
        self.statements = 0

    def arm(self, fault: Fault | None) -> None:
        self.armed = fault
        self.fired = None
        self.statements = 0

    def disarm(self) -> None:
        """Stop failing; `fired` stays for the test to inspect."""
        self.armed = None

    def statement(self, sql: str) -> None:
        self.statements += 1
        armed = self.armed
        if (
            armed is not None
            and armed.kind is FaultKind.AT_STATEMENT
            and armed.statement == self.statements
        ):
            self._fire(f"statement {self.statements}: {' '.join(sql.split())[:60]}")

    def flushed(self) -> None:
        if self.armed is not None and self.armed.kind is FaultKind.AFTER_FLUSH:
            self._fire("after a flush")

    def before_commit(self) -> None:
        if self.armed is not None and self.armed.kind is FaultKind.BEFORE_COMMIT:
            self._fire("before COMMIT")

    def after_commit(self) -> None:
        if self.armed is not None and self.armed.kind is FaultKind.COMMIT_OUTCOME_LOST:
            self._fire("after COMMIT succeeded")

    def _fire(self, where: str) -> None:
        assert self.armed is not None
        failure = InjectedFailure(self.armed, where)
        # Disarmed first: a rollback, or a later unit of the same step, cannot fire it again.
        self.armed = None
        self.fired = failure
        raise failure


def faulty_sql_units(engine: AsyncEngine, plan: FaultPlan) -> UnitOfWorkFactory:
    """Units on `engine`, which the test created for itself, that fail where `plan` says."""
    sync_engine = engine.sync_engine

    def before_cursor_execute(
        _connection: Any,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        plan.statement(statement)

    def before_commit(_connection: Any) -> None:
        # The unit's changes are out (on SQLite, queued for the COMMIT's own hop).
        plan.flushed()
        plan.before_commit()

    event.listen(sync_engine, "before_cursor_execute", before_cursor_execute)
    observe_statements(engine, lambda sql, _rows: plan.statement(sql))
    event.listen(sync_engine, "commit", before_commit)

    dialect = sync_engine.dialect
    real_do_commit = dialect.do_commit

    def do_commit_then_lose_the_outcome(dbapi_connection: Any) -> None:
        real_do_commit(dbapi_connection)
        plan.after_commit()

    # This engine's dialect only: every other engine keeps its own.
    dialect.do_commit = do_commit_then_lose_the_outcome  # type: ignore[method-assign]

    sessions = _sessions_failing_after_flush(create_session_factory(engine), plan)

    def open_unit(*, read_only: bool = False) -> AbstractUnitOfWork:
        return SqlAlchemyUnitOfWork(sessions, read_only=read_only)

    return open_unit


def _sessions_failing_after_flush(
    session_factory: async_sessionmaker[AsyncSession], plan: FaultPlan
) -> Callable[[], AsyncSession]:
    def open_session() -> AsyncSession:
        session = session_factory()

        def after_flush(_session: Session, _context: UOWTransaction) -> None:
            plan.flushed()

        event.listen(session.sync_session, "after_flush", after_flush)
        return session

    return open_session


class FaultyStoreUnit(InMemoryUnitOfWork):
    """The fake's unit, failing just before or just after the store takes its changes."""

    def __init__(self, store: InMemoryStore, plan: FaultPlan, *, read_only: bool = False) -> None:
        super().__init__(store, read_only=read_only)
        self._plan = plan

    def _sibling(self, *, read_only: bool = False) -> FaultyStoreUnit:
        return FaultyStoreUnit(self._store, self._plan, read_only=read_only)

    async def _commit(self) -> None:
        self._plan.before_commit()
        await super()._commit()
        self._plan.after_commit()


def faulty_store_units(store: InMemoryStore, plan: FaultPlan) -> UnitOfWorkFactory:
    def open_unit(*, read_only: bool = False) -> AbstractUnitOfWork:
        return FaultyStoreUnit(store, plan, read_only=read_only)

    return open_unit
