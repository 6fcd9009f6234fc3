"""The in-memory unit of work: the same commit and rollback semantics as the SQL adapter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from application.ports.unit_of_work import AbstractUnitOfWork
from domain.errors import ConcurrencyConflict, Conflict, NotFound
from infrastructure.in_memory.repositories import (
    InMemoryLedgerRepository,
    InMemoryRepository,
    InMemoryTaskRepository,
    InMemoryUserRepository,
    InMemoryWalletRepository,
    detached_copy,
    persistent_state,
)
from infrastructure.in_memory.store import InMemoryStore


class InMemoryUnitOfWork(AbstractUnitOfWork):
    """Writers take the store's lock for the whole unit; readers see the last commit."""

    def __init__(self, store: InMemoryStore, *, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        self._store = store

    async def _begin(self) -> None:
        if not self.read_only:
            await self._store.write_lock.acquire()
        self._users = self.users = InMemoryUserRepository(self._store.users)
        self._wallets = self.wallets = InMemoryWalletRepository(self._store.wallets)
        self._tasks = self.tasks = InMemoryTaskRepository(self._store.tasks)
        self._ledger = self.ledger = InMemoryLedgerRepository(self._store)

    async def _commit(self) -> None:
        self._check_constraints()
        for repository in (self._users, self._wallets, self._tasks):
            _apply(repository)
        self._store.entries.extend(self._ledger.appended)

    async def _rollback(self) -> None:
        """Nothing to undo: the store only ever received committed copies."""

    async def _close(self) -> None:
        if not self.read_only:
            self._store.write_lock.release()

    def _check_constraints(self) -> None:
        """Refuse the commit as the database's constraints would, before anything is applied."""
        users = {**self._store.users, **self._users.seen}
        _unique(
            (user.email for user in users.values()), "a user with this email is already registered"
        )
        _unique((user.username for user in users.values()), "this username is already taken")
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
