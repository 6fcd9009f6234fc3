"""In-memory repositories: they read copies of committed aggregates and stage what they add."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from typing import Any, TypeVar
from uuid import UUID

from application.errors import ReadOnlyUnitError
from application.ports.repositories import (
    LedgerRepository,
    StatementPage,
    TaskRepository,
    TrackingRepository,
    UserRepository,
    WalletRepository,
)
from application.ports.task_queries import TaskDetails, TaskPage, TaskQuery
from domain.errors import NotFound
from domain.events import Aggregate
from domain.ledger import LedgerEntry, StatementLine
from domain.tasks import Task
from domain.users import User
from domain.wallets import Wallet
from infrastructure.in_memory.store import InMemoryStore
from infrastructure.in_memory.task_filters import matches, sort_key

A = TypeVar("A", bound=Aggregate)


def persistent_state(aggregate: Aggregate) -> dict[str, Any]:
    """What a database row would hold of an aggregate: everything but its pending events."""
    return {name: value for name, value in vars(aggregate).items() if name != "_pending_events"}


def detached_copy(aggregate: A) -> A:
    """A copy that shares nothing with the stored aggregate, as a freshly loaded row would."""
    duplicate = copy.deepcopy(aggregate)
    duplicate.pull_events()
    return duplicate


class InMemoryRepository(TrackingRepository[A]):
    """Copies out of one dict of the store, remembering the versions it read."""

    def __init__(self, stored: dict[UUID, A]) -> None:
        super().__init__()
        self.stored = stored
        self.loaded_versions: dict[UUID, int] = {}
        self.added: set[UUID] = set()

    async def _add(self, aggregate: A) -> None:
        """Staged in `seen` until the unit commits."""
        self.added.add(aggregate.id)

    def _forget(self, aggregate_id: UUID) -> None:
        self.added.discard(aggregate_id)
        self.loaded_versions.pop(aggregate_id, None)

    async def _load(self, ascending_ids: Sequence[UUID], *, lock: bool) -> list[A]:
        # Writers hold the store's write lock for the whole unit: there is nothing to lock.
        return [self._copy_out(self.stored[i]) for i in ascending_ids if i in self.stored]

    def _copy_out(self, aggregate: A) -> A:
        version = getattr(aggregate, "version", None)
        if version is not None:
            self.loaded_versions[aggregate.id] = version
        return detached_copy(aggregate)


class InMemoryUserRepository(InMemoryRepository[User], UserRepository):
    async def _load_by_api_token_hash(self, token_hash: str) -> User | None:
        found = [user for user in self.stored.values() if user.api_token_hash == token_hash]
        return self._copy_out(found[0]) if found else None


class InMemoryWalletRepository(InMemoryRepository[Wallet], WalletRepository):
    async def _load_by_owner(self, owner_id: UUID) -> Wallet | None:
        owned = [wallet for wallet in self.stored.values() if wallet.owner_id == owner_id]
        return self._copy_out(owned[0]) if owned else None


class InMemoryTaskRepository(InMemoryRepository[Task], TaskRepository):
    async def reachable_dependencies(self, task_id: UUID) -> set[UUID]:
        reachable: set[UUID] = set()
        frontier = [task_id]
        while frontier:
            task = self._current(frontier.pop())
            fresh = (task.dependency_ids if task else frozenset()) - reachable
            reachable |= fresh
            frontier.extend(fresh)
        return reachable

    async def details(self, task_id: UUID) -> TaskDetails:
        task = self._current(task_id)
        if task is None:
            raise NotFound(self.kind, task_id)
        subtasks = [t for t in self._all() if t.parent_id == task_id and not t.is_deleted]
        dependencies = [t for t in self._all() if t.id in task.dependency_ids]
        by_creation = sort_key(TaskQuery())
        return TaskDetails(
            task=detached_copy(task),
            subtasks=[detached_copy(t) for t in sorted(subtasks, key=by_creation)],
            dependencies=[detached_copy(t) for t in sorted(dependencies, key=by_creation)],
        )

    async def find(self, query: TaskQuery) -> TaskPage:
        found = sorted(
            (task for task in self._all() if matches(task, query)),
            key=sort_key(query),
            reverse=query.descending,
        )
        page = found[query.offset : query.offset + query.limit]
        return TaskPage(tasks=[detached_copy(task) for task in page], total=len(found))

    async def export(self) -> AsyncIterator[Task]:
        for task in sorted(self._all(), key=sort_key(TaskQuery())):
            yield detached_copy(task)

    def _current(self, task_id: UUID) -> Task | None:
        """The task as this unit sees it: its own staged version, else the committed one."""
        return self.seen.get(task_id) or self.stored.get(task_id)

    def _all(self) -> list[Task]:
        return list({**self.stored, **self.seen}.values())


class InMemoryLedgerRepository(LedgerRepository):
    def __init__(self, store: InMemoryStore, *, read_only: bool = False) -> None:
        self._store = store
        self._read_only = read_only
        self.appended: list[LedgerEntry] = []

    async def append(self, entry: LedgerEntry) -> None:
        if self._read_only:
            raise ReadOnlyUnitError("a read-only unit of work cannot append to the ledger")
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
