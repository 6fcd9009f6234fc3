"""The committed state of a backend, read past every unit of work.

SQL is read with plain SELECTs on a fresh connection of the test's own engine, so nothing comes
from a unit's identity map; the fake is read from its store's committed dicts.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.tasks import TaskStatus
from infrastructure.in_memory import InMemoryStore
from tests.property.backends import from_minor_units, reading

Posting = tuple[UUID, str, Decimal]
"""A stored posting: the entry it belongs to, its account, its signed delta."""


@dataclass(frozen=True)
class StoredTask:
    creator: UUID
    status: TaskStatus
    assignee: UUID | None
    bounty: Decimal


@dataclass(frozen=True)
class StoredState:
    users: dict[str, UUID]
    """Every user, by email."""
    wallets: dict[UUID, tuple[UUID, Decimal]]
    """Every wallet by id: its owner and its balance."""
    tasks: dict[UUID, StoredTask]
    postings: tuple[Posting, ...]
    entries: frozenset[UUID]
    idempotency_keys: frozenset[str]


class StoredStateReader(abc.ABC):
    @abc.abstractmethod
    async def read(self) -> StoredState: ...


class StoreReader(StoredStateReader):
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def read(self) -> StoredState:
        store = self._store
        return StoredState(
            users={user.email: user.id for user in store.users.values()},
            wallets={w.id: (w.owner_id, w.balance.value) for w in store.wallets.values()},
            tasks={
                task.id: StoredTask(
                    task.creator_id, task.status, task.assignee_id, task.bounty.value
                )
                for task in store.tasks.values()
            },
            postings=_in_order(
                (entry.id, posting.account, posting.delta)
                for entry in store.entries
                for posting in entry.postings
            ),
            entries=frozenset(entry.id for entry in store.entries),
            idempotency_keys=frozenset(store.idempotency),
        )


def _in_order(postings: Iterable[Posting]) -> tuple[Posting, ...]:
    """Postings in one order whatever order storage returns them in, so states compare equal."""
    return tuple(sorted(postings, key=lambda p: (str(p[0]), p[1], p[2])))


def _uuid(raw: object) -> UUID:
    """SQLite keeps ids as 32 hex digits, PostgreSQL as uuids: both read back through text."""
    return UUID(str(raw))


def _optional_uuid(raw: object) -> UUID | None:
    return None if raw is None else _uuid(raw)


class SqlReader(StoredStateReader):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def read(self) -> StoredState:
        async with reading(self._engine) as connection:
            users = (await connection.execute(text("SELECT id, email FROM users"))).all()
            wallets = (
                await connection.execute(text("SELECT id, owner_id, balance FROM wallets"))
            ).all()
            tasks = (
                await connection.execute(
                    text("SELECT id, creator_id, status, assignee_id, bounty FROM tasks")
                )
            ).all()
            postings = (
                await connection.execute(
                    text("SELECT entry_id, account, delta FROM ledger_postings")
                )
            ).all()
            entries = (await connection.execute(text("SELECT id FROM ledger_entries"))).all()
            keys = (await connection.execute(text("SELECT key FROM idempotency_records"))).all()
        return StoredState(
            users={str(email): _uuid(user_id) for user_id, email in users},
            wallets={
                _uuid(wallet_id): (_uuid(owner_id), from_minor_units(balance))
                for wallet_id, owner_id, balance in wallets
            },
            tasks={
                _uuid(task_id): StoredTask(
                    _uuid(creator_id),
                    TaskStatus(status),
                    _optional_uuid(assignee_id),
                    from_minor_units(bounty),
                )
                for task_id, creator_id, status, assignee_id, bounty in tasks
            },
            postings=_in_order(
                (_uuid(entry_id), str(account), from_minor_units(delta))
                for entry_id, account, delta in postings
            ),
            entries=frozenset(_uuid(entry_id) for (entry_id,) in entries),
            idempotency_keys=frozenset(str(key) for (key,) in keys),
        )
