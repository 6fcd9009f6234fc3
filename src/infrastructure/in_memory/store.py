"""The committed state of the in-memory fake: what a database file would hold."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from application.events.messages import OutboxMessage
from application.ports.idempotency import StoredOutcome
from domain.ledger import LedgerEntry
from domain.tasks import Task
from domain.users import User
from domain.wallets import Wallet


@dataclass(frozen=True)
class OutboxRow:
    """What a row of the outbox table holds; replaced, never changed in place."""

    message: OutboxMessage
    status: str
    next_attempt_at: datetime
    last_error: str | None = None
    dispatched_at: datetime | None = None


@dataclass
class InMemoryStore:
    """Committed aggregates. Units copy out of it and write copies back only at commit.

    `write_lock` lets one writing unit in at a time, as SQLite's BEGIN IMMEDIATE does.
    """

    users: dict[UUID, User] = field(default_factory=dict)
    wallets: dict[UUID, Wallet] = field(default_factory=dict)
    tasks: dict[UUID, Task] = field(default_factory=dict)
    entries: list[LedgerEntry] = field(default_factory=list)
    outbox: dict[UUID, OutboxRow] = field(default_factory=dict)
    processed_messages: set[tuple[UUID, str]] = field(default_factory=set)
    idempotency: dict[str, StoredOutcome] = field(default_factory=dict)
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
