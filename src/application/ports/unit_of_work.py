"""The unit of work: one transaction, and the repositories that share it."""

from __future__ import annotations

import abc
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

from application.audit import audit_repository
from application.audit import logger as audit_logger
from application.errors import ReadOnlyUnitError
from application.events.delivery import DeliveryPolicy, MessageDelivery
from application.events.handlers import EventHandlers
from application.events.messages import OutboxMessage, encode
from application.ports.idempotency import IdempotencyRepository
from application.ports.outbox import OutboxRepository, ProcessedMessageRepository
from application.ports.repositories import (
    Checkpoint,
    LedgerRepository,
    TaskRepository,
    TrackingRepository,
    UserRepository,
    WalletRepository,
)
from domain.events import Aggregate, DomainEvent, utc_now

logger = logging.getLogger("keel.unit_of_work")

Hook = Callable[[], Awaitable[None]]


@dataclass
class _Level:
    """One `async with` of the unit: the outermost is the transaction, the others savepoints."""

    savepoint: object = None
    checkpoints: list[Checkpoint] = field(default_factory=list)
    hooks_before: tuple[int, int] = (0, 0)
    committed: bool = False


class AbstractUnitOfWork(abc.ABC):
    """`async with uow:` opens one transaction; `await uow.commit()` applies it.

    Leaving the block without committing, or by an exception, rolls everything back.
    Changes to every aggregate the unit loaded or added are persisted at commit, with the
    domain events they raised written to the outbox in the same transaction.

    Entering the unit again while it is open starts a savepoint: leaving that inner block
    without committing rolls back only what happened inside it, aggregates included, and
    the outer block can go on. Only the outermost commit is real.
    """

    users: UserRepository
    wallets: WalletRepository
    tasks: TaskRepository
    ledger: LedgerRepository
    outbox: OutboxRepository
    processed_messages: ProcessedMessageRepository
    idempotency: IdempotencyRepository

    def __init__(
        self,
        *,
        read_only: bool = False,
        handlers: EventHandlers | None = None,
        delivery_policy: DeliveryPolicy | None = None,
    ) -> None:
        self.read_only = read_only
        self.handlers = handlers or EventHandlers()
        self.delivery_policy = delivery_policy or DeliveryPolicy()
        self._levels: list[_Level] = []
        self._after_commit: list[Hook] = []
        self._after_rollback: list[Hook] = []

    async def __aenter__(self) -> Self:
        if self._levels:
            await self._enter_savepoint()
            return self
        self._after_commit, self._after_rollback = [], []
        await self._begin()
        if audit_logger.isEnabledFor(logging.INFO):
            self.users = audit_repository(self.users, "users")
            self.wallets = audit_repository(self.wallets, "wallets")
            self.tasks = audit_repository(self.tasks, "tasks")
            self.ledger = audit_repository(self.ledger, "ledger")
        self._levels.append(_Level())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        level = self._levels.pop()
        if self._levels:
            if not level.committed:
                await self._leave_savepoint(level)
        else:
            try:
                if not level.committed:
                    await self._rollback()
            finally:
                await self._close()
            if not level.committed:
                await _run_hooks(self._after_rollback, "after_rollback")
        translated = self._translate_error(exc) if exc is not None else None
        if translated is not None:
            raise translated from exc

    @property
    def nesting_depth(self) -> int:
        """1 inside the outermost block, 2 inside a savepoint of it, and so on; 0 when closed."""
        return len(self._levels)

    async def commit(self) -> None:
        """Commit the transaction, or release the savepoint when inside a nested block."""
        if self.read_only:
            raise ReadOnlyUnitError("a read-only unit of work cannot commit")
        if not self._levels:
            raise RuntimeError("commit() outside `async with` of the unit of work")
        level = self._levels[-1]
        if len(self._levels) > 1:
            await self._release_savepoint(level.savepoint)
            level.committed = True
            return
        messages = [encode(event) for event in self._pull_events()]
        deliver_now = any(self.handlers.handles(message.event_type) for message in messages)
        if messages:
            # Messages this process delivers itself are hidden from the relay for a while;
            # the relay only picks them up if that delivery never finished.
            now = utc_now()
            due_at = self.delivery_policy.lease_until(now) if deliver_now else now
            await self.outbox.add(messages, due_at=due_at)
        await self._commit()
        level.committed = True
        if deliver_now:
            self._after_commit.insert(0, lambda: self._deliver(messages))
        await _run_hooks(self._after_commit, "after_commit")

    def after_commit(self, hook: Hook) -> None:
        """Run `hook` once the outermost transaction has committed; never on a rollback."""
        self._after_commit.append(hook)

    def after_rollback(self, hook: Hook) -> None:
        """Run `hook` once the outermost transaction has rolled back."""
        self._after_rollback.append(hook)

    async def _deliver(self, messages: list[OutboxMessage]) -> None:
        delivery = MessageDelivery(self._sibling, self.handlers, self.delivery_policy)
        await delivery.deliver(messages)

    async def _enter_savepoint(self) -> None:
        level = _Level(
            checkpoints=[repository.checkpoint() for repository in self._tracking()],
            hooks_before=(len(self._after_commit), len(self._after_rollback)),
        )
        level.savepoint = await self._begin_savepoint()
        self._levels.append(level)

    async def _leave_savepoint(self, level: _Level) -> None:
        """Undo the inner block: in the database, in the aggregates, and its hooks."""
        await self._rollback_savepoint(level.savepoint)
        for repository, checkpoint in zip(self._tracking(), level.checkpoints, strict=True):
            repository.roll_back_to(checkpoint)
        commit_hooks, rollback_hooks = level.hooks_before
        del self._after_commit[commit_hooks:]
        del self._after_rollback[rollback_hooks:]

    def _tracking(self) -> list[TrackingRepository[Aggregate]]:
        return [self.users, self.wallets, self.tasks]  # type: ignore[list-item]

    def _pull_events(self) -> list[DomainEvent]:
        """The events raised by the aggregates this unit touched, each handed out once."""
        return [
            event
            for repository in self._tracking()
            for aggregate in repository.seen.values()
            for event in aggregate.pull_events()
        ]

    def _translate_error(self, error: BaseException) -> Exception | None:
        """The domain or application error that an adapter's `error` stands for, if any."""
        return None

    @abc.abstractmethod
    def _sibling(self, *, read_only: bool = False) -> AbstractUnitOfWork:
        """A new unit on the same storage, for the event handlers to run in."""

    @abc.abstractmethod
    async def _begin(self) -> None: ...

    @abc.abstractmethod
    async def _commit(self) -> None: ...

    @abc.abstractmethod
    async def _rollback(self) -> None: ...

    @abc.abstractmethod
    async def _close(self) -> None:
        """Release what the unit holds; runs after commit or rollback."""

    @abc.abstractmethod
    async def _begin_savepoint(self) -> object: ...

    @abc.abstractmethod
    async def _release_savepoint(self, savepoint: object) -> None: ...

    @abc.abstractmethod
    async def _rollback_savepoint(self, savepoint: object) -> None:
        """Undo the database's side; the unit puts its aggregates back itself."""


async def _run_hooks(hooks: list[Hook], kind: str) -> None:
    """Run every hook; one that fails is logged and does not stop the others.

    The transaction's outcome is settled when hooks run: raising would tell the caller
    that a committed unit failed, and invite it to apply the change twice.
    """
    for hook in hooks:
        try:
            await hook()
        except Exception:
            logger.exception("an %s hook failed", kind)


class UnitOfWorkFactory(Protocol):
    """What a use case receives: a way to open a fresh unit, never a shared one."""

    def __call__(self, *, read_only: bool = False) -> AbstractUnitOfWork: ...
