"""The outbox, processed-message and idempotency tables, written with plain Core statements."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import Dialect, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from application.errors import RetryableError
from application.events.messages import OutboxMessage
from application.ports.idempotency import IdempotencyRepository, StoredOutcome
from application.ports.outbox import OutboxCounts, OutboxRepository, ProcessedMessageRepository
from infrastructure.database.channel import StatementChannel
from infrastructure.database.records import (
    IdempotencyRecord,
    OutboxMessageRecord,
    ProcessedMessageRecord,
)
from infrastructure.database.repositories.records import chunked
from infrastructure.database.statements import DriverStatement, compile_statement

_OUTBOX_MESSAGE = (
    OutboxMessageRecord.id,
    OutboxMessageRecord.event_type,
    OutboxMessageRecord.payload,
    OutboxMessageRecord.occurred_at,
    OutboxMessageRecord.attempts,
)


class SqlOutboxRepository(OutboxRepository):
    def __init__(self, session: AsyncSession, channel: StatementChannel) -> None:
        self._session = session
        self._channel = channel

    async def add(self, messages: Sequence[OutboxMessage], *, due_at: datetime) -> None:
        """Written when the unit flushes, with its other writes."""
        rows = [
            {
                "id": message.id,
                "event_type": message.event_type,
                "payload": message.payload,
                "occurred_at": message.occurred_at,
                "status": "pending",
                "attempts": message.attempts,
                "next_attempt_at": due_at,
            }
            for message in messages
        ]
        self._channel.pending.add(
            self._channel.statement("insert messages", _insert_messages), rows
        )

    async def claim_due(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxMessage]:
        # SKIP LOCKED lets concurrent relays on PostgreSQL take different messages; on SQLite
        # the writer's lock already keeps them apart, and no FOR UPDATE is rendered.
        due = (
            select(*_OUTBOX_MESSAGE)
            .where(OutboxMessageRecord.status == "pending")
            .where(OutboxMessageRecord.next_attempt_at <= now)
            .order_by(OutboxMessageRecord.occurred_at, OutboxMessageRecord.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        messages = [OutboxMessage(*row) for row in await self._session.execute(due)]
        if messages:
            await self._session.execute(
                update(OutboxMessageRecord)
                .where(OutboxMessageRecord.id.in_([message.id for message in messages]))
                .values(next_attempt_at=lease_until)
            )
        return messages

    async def mark_done(self, ids: Sequence[UUID], *, at: datetime) -> None:
        for chunk in chunked(ids):
            await self._session.execute(
                update(OutboxMessageRecord)
                .where(OutboxMessageRecord.id.in_(chunk))
                .values(status="done", dispatched_at=at)
            )

    async def mark_failed(
        self, message_id: UUID, *, attempts: int, error: str, retry_at: datetime | None
    ) -> None:
        changes: dict[str, object] = {
            "attempts": attempts,
            "last_error": error,
            "status": "pending" if retry_at else "failed",
        }
        if retry_at is not None:
            changes["next_attempt_at"] = retry_at
        await self._session.execute(
            update(OutboxMessageRecord)
            .where(OutboxMessageRecord.id == message_id)
            .values(**changes)
        )

    async def counts(self) -> OutboxCounts:
        rows = await self._session.execute(
            select(OutboxMessageRecord.status, func.count()).group_by(OutboxMessageRecord.status)
        )
        by_status: dict[str, int] = dict(rows.all())
        return OutboxCounts(
            pending=by_status.get("pending", 0),
            done=by_status.get("done", 0),
            failed=by_status.get("failed", 0),
        )


class SqlProcessedMessageRepository(ProcessedMessageRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def contains(self, message_id: UUID, handler: str) -> bool:
        found = await self._session.scalar(
            select(ProcessedMessageRecord.message_id)
            .where(ProcessedMessageRecord.message_id == message_id)
            .where(ProcessedMessageRecord.handler == handler)
        )
        return found is not None

    async def add(self, message_id: UUID, handler: str, *, at: datetime) -> None:
        await self._session.execute(
            insert(ProcessedMessageRecord),
            [{"message_id": message_id, "handler": handler, "processed_at": at}],
        )


class SqlIdempotencyRepository(IdempotencyRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key: str) -> StoredOutcome | None:
        record = await self._session.get(IdempotencyRecord, key)
        if record is None:
            return None
        return StoredOutcome(
            key=record.key,
            operation=record.operation,
            fingerprint=record.fingerprint,
            result=record.result,
            created_at=record.created_at,
        )

    async def add(self, outcome: StoredOutcome) -> None:
        values = dataclasses.asdict(outcome)
        dialect = postgresql if self._session.get_bind().dialect.name == "postgresql" else sqlite
        # A concurrent run with the same key that committed first leaves no row to insert;
        # running the whole unit again then returns that run's stored result.
        result = await self._session.execute(
            dialect.insert(IdempotencyRecord).values(values).on_conflict_do_nothing()
        )
        assert isinstance(result, CursorResult)
        if result.rowcount == 0:
            raise RetryableError(f"a concurrent run stored idempotency key {outcome.key!r} first")


def _insert_messages(dialect: Dialect) -> DriverStatement:
    columns = ("id", "event_type", "payload", "occurred_at", "status", "attempts")
    return compile_statement(
        insert(OutboxMessageRecord), dialect, column_keys=(*columns, "next_attempt_at")
    )
