"""In-memory outbox, processed-message and idempotency records, staged until commit."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from application.events.messages import OutboxMessage
from application.ports.idempotency import IdempotencyRepository, StoredOutcome
from application.ports.outbox import OutboxCounts, OutboxRepository, ProcessedMessageRepository
from infrastructure.in_memory.store import InMemoryStore, OutboxRow


class InMemoryOutboxRepository(OutboxRepository):
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.staged: dict[UUID, OutboxRow] = {}

    async def add(self, messages: Sequence[OutboxMessage], *, due_at: datetime) -> None:
        for message in messages:
            self.staged[message.id] = OutboxRow(message, "pending", due_at)

    async def claim_due(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxMessage]:
        due = sorted(
            (row for row in self._rows().values() if _is_due(row, now)),
            key=lambda row: (row.message.occurred_at, row.message.id),
        )[:limit]
        for row in due:
            self.staged[row.message.id] = dataclasses.replace(row, next_attempt_at=lease_until)
        return [row.message for row in due]

    async def mark_done(self, ids: Sequence[UUID], *, at: datetime) -> None:
        rows = self._rows()
        for message_id in ids:
            row = rows[message_id]
            self.staged[message_id] = dataclasses.replace(row, status="done", dispatched_at=at)

    async def mark_failed(
        self, message_id: UUID, *, attempts: int, error: str, retry_at: datetime | None
    ) -> None:
        row = self._rows()[message_id]
        self.staged[message_id] = dataclasses.replace(
            row,
            message=dataclasses.replace(row.message, attempts=attempts),
            status="pending" if retry_at else "failed",
            next_attempt_at=retry_at or row.next_attempt_at,
            last_error=error,
        )

    async def counts(self) -> OutboxCounts:
        statuses = [row.status for row in self._rows().values()]
        return OutboxCounts(
            pending=statuses.count("pending"),
            done=statuses.count("done"),
            failed=statuses.count("failed"),
        )

    def _rows(self) -> dict[UUID, OutboxRow]:
        return {**self._store.outbox, **self.staged}


def _is_due(row: OutboxRow, now: datetime) -> bool:
    return row.status == "pending" and row.next_attempt_at <= now


class InMemoryProcessedMessageRepository(ProcessedMessageRepository):
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.staged: set[tuple[UUID, str]] = set()

    async def contains(self, message_id: UUID, handler: str) -> bool:
        return (message_id, handler) in self._store.processed_messages | self.staged

    async def add(self, message_id: UUID, handler: str, *, at: datetime) -> None:
        self.staged.add((message_id, handler))


class InMemoryIdempotencyRepository(IdempotencyRepository):
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.staged: dict[str, StoredOutcome] = {}

    async def get(self, key: str) -> StoredOutcome | None:
        return self.staged.get(key) or self._store.idempotency.get(key)

    async def add(self, outcome: StoredOutcome) -> None:
        self.staged[outcome.key] = outcome
