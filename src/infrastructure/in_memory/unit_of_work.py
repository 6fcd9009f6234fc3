"""The in-memory unit of work: the same commit and rollback semantics as the SQL adapter."""

from __future__ import annotations

from application.ports.unit_of_work import AbstractUnitOfWork
from domain.errors import ConcurrencyConflict, Conflict, NotFound
from infrastructure.in_memory.repositories import (
    InMemoryLedgerRepository,
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
        self._users = self.users = InMemoryUserRepository(self._store)
        self._wallets = self.wallets = InMemoryWalletRepository(self._store)
        self._ledger = self.ledger = InMemoryLedgerRepository(self._store)

    async def _commit(self) -> None:
        self._check_constraints()
        self._apply()

    async def _rollback(self) -> None:
        """Nothing to undo: the store only ever received committed copies."""

    async def _close(self) -> None:
        if not self.read_only:
            self._store.write_lock.release()

    def _check_constraints(self) -> None:
        """Refuse the commit as the database's constraints would, before anything is applied."""
        users = {**self._store.users, **self._users.seen}
        for field, message in (
            ("email", "a user with this email is already registered"),
            ("username", "this username is already taken"),
        ):
            values = [getattr(user, field) for user in users.values()]
            if len(values) != len(set(values)):
                raise Conflict(message)
        wallets = {**self._store.wallets, **self._wallets.seen}
        if any(wallet.owner_id not in users for wallet in wallets.values()):
            raise NotFound("referenced record", "(foreign key)")
        owners = [wallet.owner_id for wallet in wallets.values()]
        if len(owners) != len(set(owners)):
            raise Conflict("this user already has a wallet")
        for wallet_id, loaded_version in self._wallets.loaded_versions.items():
            if self._store.wallets[wallet_id].version != loaded_version:
                raise ConcurrencyConflict(
                    "the record was changed by another unit of work; reload it"
                )

    def _apply(self) -> None:
        for user in self._users.seen.values():
            self._store.users[user.id] = detached_copy(user)
        for wallet in self._wallets.seen.values():
            stored = self._store.wallets.get(wallet.id)
            if stored is not None and persistent_state(stored) != persistent_state(wallet):
                wallet.version = stored.version + 1
            self._store.wallets[wallet.id] = detached_copy(wallet)
        self._store.entries.extend(self._ledger.appended)
