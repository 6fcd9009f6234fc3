"""Ports of event delivery: the outbox, and the record of what each handler has processed."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.events.messages import OutboxMessage


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    pending: int
    done: int
    failed: int


class OutboxRepository(abc.ABC):
    """Messages wait here, `pending`, until delivered (`done`) or given up on (`failed`)."""

    @abc.abstractmethod
    async def add(self, messages: Sequence[OutboxMessage], *, due_at: datetime) -> None:
        """Write the messages as pending, due for the relay at `due_at`, in one statement."""

    @abc.abstractmethod
    async def claim_due(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxMessage]:
        """Up to `limit` pending messages due at `now`, oldest first, hidden until `lease_until`.

        A concurrent relay skips the messages another one claimed.
        """

    @abc.abstractmethod
    async def mark_done(self, ids: Sequence[UUID], *, at: datetime) -> None: ...

    @abc.abstractmethod
    async def mark_failed(
        self, message_id: UUID, *, attempts: int, error: str, retry_at: datetime | None
    ) -> None:
        """Record a failed delivery: due again at `retry_at`, or given up on when it is None."""

    @abc.abstractmethod
    async def counts(self) -> OutboxCounts: ...


class ProcessedMessageRepository(abc.ABC):
    """Which handler has applied which message: a repeated delivery is recognised and skipped."""

    @abc.abstractmethod
    async def contains(self, message_id: UUID, handler: str) -> bool: ...

    @abc.abstractmethod
    async def add(self, message_id: UUID, handler: str, *, at: datetime) -> None: ...
