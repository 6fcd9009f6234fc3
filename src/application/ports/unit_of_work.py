"""The unit of work: one transaction, and the repositories that share it."""

from __future__ import annotations

import abc
import logging
from types import TracebackType
from typing import Protocol, Self

from application.audit import audit_repository
from application.audit import logger as audit_logger
from application.errors import ReadOnlyUnitError
from application.ports.repositories import (
    LedgerRepository,
    TaskRepository,
    UserRepository,
    WalletRepository,
)
from domain.events import DomainEvent


class AbstractUnitOfWork(abc.ABC):
    """`async with uow:` opens one transaction; `await uow.commit()` applies it.

    Leaving the block without committing, or by an exception, rolls everything back.
    Changes to every aggregate the unit loaded or added are persisted at commit.
    """

    users: UserRepository
    wallets: WalletRepository
    tasks: TaskRepository
    ledger: LedgerRepository

    def __init__(self, *, read_only: bool = False) -> None:
        self.read_only = read_only
        self._committed = False

    async def __aenter__(self) -> Self:
        self._committed = False
        await self._begin()
        if audit_logger.isEnabledFor(logging.INFO):
            self.users = audit_repository(self.users, "users")
            self.wallets = audit_repository(self.wallets, "wallets")
            self.tasks = audit_repository(self.tasks, "tasks")
            self.ledger = audit_repository(self.ledger, "ledger")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                await self._rollback()
        finally:
            await self._close()
        translated = self._translate_error(exc) if exc is not None else None
        if translated is not None:
            raise translated from exc

    async def commit(self) -> None:
        if self.read_only:
            raise ReadOnlyUnitError("a read-only unit of work cannot commit")
        await self._commit()
        self._committed = True

    def collect_events(self) -> list[DomainEvent]:
        """The events raised by the aggregates this unit touched, each handed out once."""
        aggregates = [
            *self.users.seen.values(),
            *self.wallets.seen.values(),
            *self.tasks.seen.values(),
        ]
        return [event for aggregate in aggregates for event in aggregate.pull_events()]

    def _translate_error(self, error: BaseException) -> Exception | None:
        """The domain or application error that an adapter's `error` stands for, if any."""
        return None

    @abc.abstractmethod
    async def _begin(self) -> None: ...

    @abc.abstractmethod
    async def _commit(self) -> None: ...

    @abc.abstractmethod
    async def _rollback(self) -> None: ...

    @abc.abstractmethod
    async def _close(self) -> None:
        """Release what the unit holds; runs after commit or rollback."""


class UnitOfWorkFactory(Protocol):
    """What a use case receives: a way to open a fresh unit, never a shared one."""

    def __call__(self, *, read_only: bool = False) -> AbstractUnitOfWork: ...
