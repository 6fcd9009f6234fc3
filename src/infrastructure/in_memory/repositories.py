"""In-memory repositories: they read copies of committed aggregates and stage what they add."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, TypeVar
from uuid import UUID

from application.ports.repositories import (
    LedgerRepository,
    StatementPage,
    UserRepository,
    WalletRepository,
)
from domain.events import Aggregate
from domain.ledger import LedgerEntry, StatementLine
from domain.users import User
from domain.wallets import Wallet
from infrastructure.in_memory.store import InMemoryStore

A = TypeVar("A", bound=Aggregate)


def persistent_state(aggregate: Aggregate) -> dict[str, Any]:
    """What a database row would hold of an aggregate: everything but its pending events."""
    return {name: value for name, value in vars(aggregate).items() if name != "_pending_events"}


def detached_copy(aggregate: A) -> A:
    """A copy that shares nothing with the stored aggregate, as a freshly loaded row would."""
    duplicate = copy.deepcopy(aggregate)
    duplicate.pull_events()
    return duplicate


class InMemoryUserRepository(UserRepository):
    def __init__(self, store: InMemoryStore) -> None:
        super().__init__()
        self._store = store

    async def _add(self, aggregate: User) -> None:
        """Staged in `seen` until the unit commits."""

    async def _get(self, aggregate_id: UUID) -> User | None:
        user = self._store.users.get(aggregate_id)
        return None if user is None else detached_copy(user)


class InMemoryWalletRepository(WalletRepository):
    def __init__(self, store: InMemoryStore) -> None:
        super().__init__()
        self._store = store
        self.loaded_versions: dict[UUID, int] = {}

    async def _add(self, aggregate: Wallet) -> None:
        """Staged in `seen` until the unit commits."""

    async def _get(self, aggregate_id: UUID) -> Wallet | None:
        wallet = self._store.wallets.get(aggregate_id)
        if wallet is None:
            return None
        self.loaded_versions[aggregate_id] = wallet.version
        return detached_copy(wallet)

    async def _lock(self, ascending_ids: Sequence[UUID]) -> list[Wallet]:
        # Writers already hold the store's write lock for the whole unit.
        wallets = [await self._get(wallet_id) for wallet_id in ascending_ids]
        return [wallet for wallet in wallets if wallet is not None]


class InMemoryLedgerRepository(LedgerRepository):
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.appended: list[LedgerEntry] = []

    async def append(self, entry: LedgerEntry) -> None:
        self.appended.append(entry)

    async def statement(self, account: str, *, limit: int, offset: int) -> StatementPage:
        lines = [
            StatementLine(
                entry_id=entry.id, kind=entry.kind, delta=posting.delta, created_at=entry.created_at
            )
            for entry in [*self._store.entries, *self.appended]
            for posting in entry.postings
            if posting.account == account
        ]
        lines.reverse()
        return StatementPage(lines=lines[offset : offset + limit], total=len(lines))
