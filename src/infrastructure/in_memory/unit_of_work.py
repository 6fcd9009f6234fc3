"""The in-memory unit of work: the same commit and rollback semantics as the SQL adapter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from application.events.delivery import DeliveryPolicy
from application.events.handlers import EventHandlers
from application.ports.idempotency import StoredOutcome
from application.ports.unit_of_work import AbstractUnitOfWork
from domain.errors import ConcurrencyConflict, Conflict, NotFound
from infrastructure.in_memory.delivery import (
    InMemoryIdempotencyRepository,
    InMemoryOutboxRepository,
    InMemoryProcessedMessageRepository,
)
from infrastructure.in_memory.repositories import (
    InMemoryLedgerRepository,
    InMemoryRepository,
    InMemoryTaskRepository,
    InMemoryUserRepository,
    InMemoryWalletRepository,
    detached_copy,
    persistent_state,
)
from infrastructure.in_memory.store import InMemoryStore, OutboxRow


@dataclass(frozen=True)
class _Staged:
    """What the unit had staged when a savepoint began, beyond its aggregates."""

    ledger_entries: int
    outbox: dict[UUID, OutboxRow]
    processed_messages: set[tuple[UUID, str]]
    idempotency: dict[str, StoredOutcome]


class InMemoryUnitOfWork(AbstractUnitOfWork):
    """Writers take the store's lock for the whole unit; readers see the last commit."""

    def __init__(
        self,
        store: InMemoryStore,
        *,
        read_only: bool = False,
        handlers: EventHandlers | None = None,
        delivery_policy: DeliveryPolicy | None = None,
    ) -> None:
        super().__init__(read_only=read_only, handlers=handlers, delivery_policy=delivery_policy)
        self._store = store

    def _sibling(self, *, read_only: bool = False) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(
            self._store,
            read_only=read_only,
            handlers=self.handlers,
            delivery_policy=self.delivery_policy,
        )

    async def _begin(self) -> None:
        if not self.read_only:
            await self._store.write_lock.acquire()
        self._holds_lock = not self.read_only
        self._users = self.users = InMemoryUserRepository(self._store.users)
        self._wallets = self.wallets = InMemoryWalletRepository(self._store.wallets)
        self._tasks = self.tasks = InMemoryTaskRepository(self._store.tasks)
        self._ledger = self.ledger = InMemoryLedgerRepository(self._store, read_only=self.read_only)
        self._outbox = self.outbox = InMemoryOutboxRepository(self._store)
        self._processed = self.processed_messages = InMemoryProcessedMessageRepository(self._store)
        self._idempotency = self.idempotency = InMemoryIdempotencyRepository(self._store)

    async def _commit(self) -> None:
        self._check_constraints()
        for repository in (self._users, self._wallets, self._tasks):
            _apply(repository)
        self._store.entries.extend(self._ledger.appended)
        self._store.outbox.update(self._outbox.staged)
        self._store.processed_messages |= self._processed.staged
        self._store.idempotency.update(self._idempotency.staged)
        # As a database ends the transaction at COMMIT: what runs after it may open a unit.
        self._release_lock()

    async def _rollback(self) -> None:
        """Nothing to undo: the store only ever received committed copies."""
        self._release_lock()

    async def _close(self) -> None:
        self._release_lock()

    def _release_lock(self) -> None:
        if self._holds_lock:
            self._holds_lock = False
            self._store.write_lock.release()

    async def _begin_savepoint(self) -> _Staged:
        # The SQL unit flushes here, and a database refuses what breaks a constraint at once.
        self._check_constraints()
        return _Staged(
            ledger_entries=len(self._ledger.appended),
            outbox=dict(self._outbox.staged),
            processed_messages=set(self._processed.staged),
            idempotency=dict(self._idempotency.staged),
        )

    async def _release_savepoint(self, savepoint: object) -> None:
        """What the inner block staged is now the outer block's, if the constraints hold."""
        self._check_constraints()

    async def _rollback_savepoint(self, savepoint: object) -> None:
        assert isinstance(savepoint, _Staged)
        del self._ledger.appended[savepoint.ledger_entries :]
        self._outbox.staged = savepoint.outbox
        self._processed.staged = savepoint.processed_messages
        self._idempotency.staged = savepoint.idempotency

    def _check_constraints(self) -> None:
        """Refuse the commit as the database's constraints would, before anything is applied."""
        users = {**self._store.users, **self._users.seen}
        _unique(
            (user.email for user in users.values()), "a user with this email is already registered"
        )
        _unique((user.username for user in users.values()), "this username is already taken")
        tokens = [user.api_token_hash for user in users.values() if user.api_token_hash]
        _unique(tokens, "this API token is already in use")
        wallets = {**self._store.wallets, **self._wallets.seen}
        _exist((wallet.owner_id for wallet in wallets.values()), users)
        _unique((w.owner_id for w in wallets.values()), "this user already has a wallet")
        tasks = {**self._store.tasks, **self._tasks.seen}
        for task in self._tasks.seen.values():
            _exist([task.creator_id, *([task.assignee_id] if task.assignee_id else [])], users)
            _exist([*([task.parent_id] if task.parent_id else []), *task.dependency_ids], tasks)
        for repository in (self._users, self._wallets, self._tasks):
            _check_versions(repository)
            if repository.added & repository.stored.keys():
                raise Conflict(f"a {repository.kind} with this id already exists")
        if self._processed.staged & self._store.processed_messages:
            raise Conflict("this handler has already processed this message")
        if self._idempotency.staged.keys() & self._store.idempotency.keys():
            raise Conflict("this idempotency key is already stored")


def _unique(values: Iterable[object], message: str) -> None:
    listed = list(values)
    if len(listed) != len(set(listed)):
        raise Conflict(message)


def _exist(ids: Iterable[UUID], stored: Mapping[UUID, object]) -> None:
    if any(referenced not in stored for referenced in ids):
        raise NotFound("referenced record", "(foreign key)")


def _check_versions(repository: InMemoryRepository[Any]) -> None:
    for aggregate_id, loaded_version in repository.loaded_versions.items():
        if getattr(repository.stored[aggregate_id], "version", None) != loaded_version:
            raise ConcurrencyConflict("the record was changed by another unit of work; reload it")


def _apply(repository: InMemoryRepository[Any]) -> None:
    """Write the unit's aggregates back; a changed one gets the next version, as a row would."""
    for aggregate in repository.seen.values():
        stored = repository.stored.get(aggregate.id)
        version = getattr(stored, "version", None)
        changed = stored is not None and persistent_state(stored) != persistent_state(aggregate)
        if changed and version is not None:
            aggregate.version = version + 1
        repository.stored[aggregate.id] = detached_copy(aggregate)
