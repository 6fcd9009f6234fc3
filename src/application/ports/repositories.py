"""Repository ports. Each keeps an identity map of the aggregates its unit has seen."""

from __future__ import annotations

import abc
import copy
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from application.ports.task_queries import TaskDetails, TaskPage, TaskQuery
from domain.errors import Conflict, NotFound
from domain.events import Aggregate
from domain.ledger import LedgerEntry, StatementLine
from domain.tasks import Task
from domain.users import User
from domain.wallets import Wallet

A = TypeVar("A", bound=Aggregate)
Checkpoint = dict[UUID, dict[str, Any]]


class TrackingRepository(abc.ABC, Generic[A]):
    """Hands out one object per id within a unit, and remembers it so the unit can persist it.

    Rows are fetched, and locked, in ascending id order whatever the order asked, so that two
    units locking the same rows cannot deadlock each other. An aggregate the unit already
    holds is handed out again as it is: lock it the first time the unit asks for it.
    """

    kind: str

    def __init__(self) -> None:
        self.seen: dict[UUID, A] = {}

    async def add(self, aggregate: A) -> None:
        if aggregate.id in self.seen:
            raise Conflict(f"a {self.kind} with id {aggregate.id} already exists")
        await self._add(aggregate)
        self.seen[aggregate.id] = aggregate

    async def get(self, aggregate_id: UUID) -> A:
        """The aggregate with this id, or `NotFound`."""
        [aggregate] = await self.get_many([aggregate_id])
        return aggregate

    async def get_many(self, ids: Sequence[UUID]) -> list[A]:
        """The aggregates with these ids, in the order asked; `NotFound` names a missing one."""
        return await self._fetch(ids, lock=False)

    async def get_for_update(self, ids: Sequence[UUID]) -> list[A]:
        """As `get_many`, and locked against concurrent writers until the unit ends."""
        return await self._fetch(ids, lock=True)

    async def prefetch(self, ids: Collection[UUID]) -> None:
        """Load those of these ids that exist, unlocked, so that later gets need no query."""
        missing = sorted({aggregate_id for aggregate_id in ids if aggregate_id not in self.seen})
        if missing:
            for aggregate in await self._load(missing, lock=False):
                self.seen[aggregate.id] = aggregate

    async def _fetch(self, ids: Sequence[UUID], *, lock: bool) -> list[A]:
        missing = sorted({aggregate_id for aggregate_id in ids if aggregate_id not in self.seen})
        if missing:
            for aggregate in await self._load(missing, lock=lock):
                self.seen[aggregate.id] = aggregate
        for aggregate_id in ids:
            if aggregate_id not in self.seen:
                raise NotFound(self.kind, aggregate_id)
        return [self.seen[aggregate_id] for aggregate_id in ids]

    def checkpoint(self) -> Checkpoint:
        """The state of every aggregate seen so far, to go back to if a savepoint rolls back."""
        return {i: copy.deepcopy(vars(aggregate)) for i, aggregate in self.seen.items()}

    def roll_back_to(self, checkpoint: Checkpoint) -> None:
        """Put the aggregates back as they were, in place; forget those seen since."""
        for aggregate_id, aggregate in list(self.seen.items()):
            if aggregate_id in checkpoint:
                vars(aggregate).clear()
                vars(aggregate).update(copy.deepcopy(checkpoint[aggregate_id]))
            else:
                del self.seen[aggregate_id]
                self._forget(aggregate_id)

    def _forget(self, aggregate_id: UUID) -> None:
        """Drop what the adapter keeps about an aggregate seen only inside a rolled-back part."""

    @abc.abstractmethod
    async def _add(self, aggregate: A) -> None: ...

    @abc.abstractmethod
    async def _load(self, ascending_ids: Sequence[UUID], *, lock: bool) -> list[A]:
        """The stored aggregates among these ids, in this order."""


class UserRepository(TrackingRepository[User]):
    kind = "user"

    async def find_by_api_token_hash(self, token_hash: str) -> User | None:
        """The user whose API token hashes to `token_hash`, or None when no user's does."""
        for user in self.seen.values():
            if user.api_token_hash == token_hash:
                return user
        found = await self._load_by_api_token_hash(token_hash)
        if found is not None:
            self.seen[found.id] = found
        return found

    @abc.abstractmethod
    async def _load_by_api_token_hash(self, token_hash: str) -> User | None: ...


class WalletRepository(TrackingRepository[Wallet]):
    kind = "wallet"

    async def get_by_owner_for_update(self, owner_id: UUID) -> Wallet:
        """The wallet of user `owner_id`, locked; `NotFound` when the user has none."""
        for wallet in self.seen.values():
            if wallet.owner_id == owner_id:
                return wallet
        found = await self._load_by_owner(owner_id)
        if found is None:
            raise NotFound("wallet of user", owner_id)
        self.seen[found.id] = found
        return found

    @abc.abstractmethod
    async def _load_by_owner(self, owner_id: UUID) -> Wallet | None: ...


class TaskRepository(TrackingRepository[Task]):
    kind = "task"

    @abc.abstractmethod
    async def reachable_dependencies(self, task_id: UUID) -> set[UUID]:
        """Every task that `task_id` depends on, directly or through other tasks."""

    @abc.abstractmethod
    async def details(self, task_id: UUID) -> TaskDetails:
        """The task with its subtasks and its dependencies, in a fixed number of queries."""

    @abc.abstractmethod
    async def find(self, query: TaskQuery) -> TaskPage:
        """One page of the tasks that match, in the order asked, with how many match."""

    @abc.abstractmethod
    def export(self) -> AsyncIterator[Task]:
        """Every task, oldest first, read in chunks so that memory stays flat."""


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
