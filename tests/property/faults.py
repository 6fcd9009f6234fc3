"""Failures injected into units of work at chosen points, to prove a failed unit leaves no trace."""

from __future__ import annotations

import enum
from collections.abc import Callable
from types import TracebackType

from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from application.ports.repositories import LedgerRepository, StatementPage
from application.ports.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory
from domain.ledger import LedgerEntry
from infrastructure.database.engine import create_session_factory


class FaultPoint(enum.Enum):
    IN_THE_MIDDLE = "when the ledger entry is appended, after the wallets changed in memory"
    BEFORE_COMMIT = "when the unit is asked to commit, before the adapter commits"
    AFTER_FLUSH = "after the unit's SQL was sent, before COMMIT"


class InjectedFault(Exception):
    """The failure a test injected; nothing may catch, wrap or translate it."""

    def __init__(self, point: FaultPoint) -> None:
        super().__init__(f"injected fault {point.name}: {point.value}")
        self.point = point


class FaultSwitch:
    """Arms one fault at a time; the first unit to reach the armed point fails there, once."""

    def __init__(self) -> None:
        self.armed: FaultPoint | None = None
        self.raised: InjectedFault | None = None

    def arm(self, point: FaultPoint | None) -> None:
        self.armed = point
        self.raised = None

    def disarm(self) -> None:
        """Stop failing, and keep `raised` for the test to inspect."""
        self.armed = None

    def trip(self, point: FaultPoint) -> None:
        """Raise the injected fault if `point` is the armed one."""
        if self.armed is not point:
            return
        # Disarmed before raising, so a rollback or a later unit cannot trip it a second time.
        self.armed = None
        self.raised = InjectedFault(point)
        raise self.raised


class FaultyLedger(LedgerRepository):
    def __init__(self, inner: LedgerRepository, switch: FaultSwitch) -> None:
        self._inner = inner
        self._switch = switch

    async def append(self, entry: LedgerEntry) -> None:
        # Staged first, so the failure leaves a half-built unit that must be thrown away whole.
        await self._inner.append(entry)
        self._switch.trip(FaultPoint.IN_THE_MIDDLE)

    async def statement(self, account: str, *, limit: int, offset: int) -> StatementPage:
        return await self._inner.statement(account, limit=limit, offset=offset)


class FaultyUnitOfWork(AbstractUnitOfWork):
    """Behaves exactly as `inner`, except that it fails where the switch is armed."""

    def __init__(self, inner: AbstractUnitOfWork, switch: FaultSwitch) -> None:
        super().__init__(read_only=inner.read_only)
        self._inner = inner
        self._switch = switch

    async def _begin(self) -> None:
        await self._inner.__aenter__()
        self.users = self._inner.users
        self.wallets = self._inner.wallets
        self.tasks = self._inner.tasks
        self.ledger = FaultyLedger(self._inner.ledger, self._switch)
        self.outbox = self._inner.outbox
        self.processed_messages = self._inner.processed_messages
        self.idempotency = self._inner.idempotency

    async def _commit(self) -> None:
        self._switch.trip(FaultPoint.BEFORE_COMMIT)
        await self._inner.commit()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # The inner unit sees the real exception, so it rolls back and translates as in production.
        self._levels.pop()
        await self._inner.__aexit__(exc_type, exc, traceback)

    def _sibling(self, *, read_only: bool = False) -> FaultyUnitOfWork:
        return FaultyUnitOfWork(self._inner._sibling(read_only=read_only), self._switch)

    async def _begin_savepoint(self) -> None:
        await self._inner.__aenter__()

    async def _release_savepoint(self, savepoint: object) -> None:
        await self._inner.commit()
        await self._inner.__aexit__(None, None, None)

    async def _rollback_savepoint(self, savepoint: object) -> None:
        await self._inner.__aexit__(None, None, None)

    async def _rollback(self) -> None:
        """The inner unit rolls back in its own exit."""

    async def _close(self) -> None:
        """The inner unit closes in its own exit."""


def faulty(factory: UnitOfWorkFactory, switch: FaultSwitch) -> UnitOfWorkFactory:
    """A factory whose units fail where `switch` is armed and otherwise behave as `factory`'s."""

    def open_unit(*, read_only: bool = False) -> AbstractUnitOfWork:
        return FaultyUnitOfWork(factory(read_only=read_only), switch)

    return open_unit


def sessions_failing_after_flush(
    engine: AsyncEngine, switch: FaultSwitch
) -> Callable[[], AsyncSession]:
    """Sessions on `engine` that raise the armed AFTER_FLUSH fault once the unit's SQL was
    sent: after an ORM flush, or else when the transaction is about to COMMIT (the unit's
    own writes then went ahead on PostgreSQL; on SQLite they travel in the COMMIT's hop, and
    are never sent)."""
    session_factory = create_session_factory(engine)

    def fail_before_commit(_connection: Connection) -> None:
        switch.trip(FaultPoint.AFTER_FLUSH)

    event.listen(engine.sync_engine, "commit", fail_before_commit)

    def open_session() -> AsyncSession:
        session = session_factory()

        def fail_after_flush(_session: Session, _context: UOWTransaction) -> None:
            switch.trip(FaultPoint.AFTER_FLUSH)

        event.listen(session.sync_session, "after_flush", fail_after_flush)
        return session

    return open_session
