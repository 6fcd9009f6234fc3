"""Repository ports. Each keeps an identity map of the aggregates its unit has seen."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from uuid import UUID

from domain.errors import NotFound
from domain.events import Aggregate
from domain.ledger import LedgerEntry, StatementLine
from domain.users import User
from domain.wallets import Wallet

A = TypeVar("A", bound=Aggregate)


class TrackingRepository(abc.ABC, Generic[A]):
    """Hands out one object per id within a unit, and remembers it so the unit can persist it."""

    kind: str

    def __init__(self) -> None:
        self.seen: dict[UUID, A] = {}

    async def add(self, aggregate: A) -> None:
        await self._add(aggregate)
        self.seen[self._id_of(aggregate)] = aggregate

    async def get(self, aggregate_id: UUID) -> A:
        """The aggregate with this id, or `NotFound`."""
        if aggregate_id in self.seen:
            return self.seen[aggregate_id]
        aggregate = await self._get(aggregate_id)
        if aggregate is None:
            raise NotFound(self.kind, aggregate_id)
        self.seen[aggregate_id] = aggregate
        return aggregate

    @staticmethod
    @abc.abstractmethod
    def _id_of(aggregate: A) -> UUID: ...

    @abc.abstractmethod
    async def _add(self, aggregate: A) -> None: ...

    @abc.abstractmethod
    async def _get(self, aggregate_id: UUID) -> A | None: ...


class UserRepository(TrackingRepository[User]):
    kind = "user"

    @staticmethod
    def _id_of(aggregate: User) -> UUID:
        return aggregate.id


class WalletRepository(TrackingRepository[Wallet]):
    kind = "wallet"

    @staticmethod
    def _id_of(aggregate: Wallet) -> UUID:
        return aggregate.id

    async def get_for_update(self, wallet_ids: Sequence[UUID]) -> list[Wallet]:
        """The wallets with these ids, locked against concurrent writers, in the order asked.

        Rows are locked in ascending id order whatever the order asked, so that two units
        locking the same wallets cannot deadlock each other.
        """
        missing = [wallet_id for wallet_id in wallet_ids if wallet_id not in self.seen]
        locked = await self._lock(sorted(set(missing)))
        for wallet in locked:
            self.seen[wallet.id] = wallet
        for wallet_id in wallet_ids:
            if wallet_id not in self.seen:
                raise NotFound(self.kind, wallet_id)
        return [self.seen[wallet_id] for wallet_id in wallet_ids]

    @abc.abstractmethod
    async def _lock(self, ascending_ids: Sequence[UUID]) -> list[Wallet]:
        """Load and lock the wallets that exist among these ids, in this order."""


@dataclass(frozen=True, slots=True)
class StatementPage:
    lines: list[StatementLine]
    total: int


class LedgerRepository(abc.ABC):
    """The append-only ledger."""

    @abc.abstractmethod
    async def append(self, entry: LedgerEntry) -> None: ...

    @abc.abstractmethod
    async def statement(self, account: str, *, limit: int, offset: int) -> StatementPage:
        """The postings of `account`, newest first, with how many there are in all."""
