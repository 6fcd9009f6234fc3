"""The committed state of the in-memory fake: what a database file would hold."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from uuid import UUID

from domain.ledger import LedgerEntry
from domain.tasks import Task
from domain.users import User
from domain.wallets import Wallet


@dataclass
class InMemoryStore:
    """Committed aggregates. Units copy out of it and write copies back only at commit.

    `write_lock` lets one writing unit in at a time, as SQLite's BEGIN IMMEDIATE does.
    """

    users: dict[UUID, User] = field(default_factory=dict)
    wallets: dict[UUID, Wallet] = field(default_factory=dict)
    tasks: dict[UUID, Task] = field(default_factory=dict)
    entries: list[LedgerEntry] = field(default_factory=list)
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
