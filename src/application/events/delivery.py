"""Handing outbox messages to their handlers: at least once, and applied once per handler."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from application.audit import describe
from application.events.handlers import EventHandler, EventHandlers
from application.events.messages import OutboxMessage, decode
from application.retry import doubled
from domain.events import DomainEvent, utc_now

if TYPE_CHECKING:
    from application.ports.unit_of_work import UnitOfWorkFactory

logger = logging.getLogger("keel.events")


@dataclass(frozen=True)
class DeliveryPolicy:
    """A failed message is retried after a doubling delay, and given up on after `max_attempts`."""

    max_attempts: int = 8
    first_retry_seconds: float = 1.0
    max_retry_seconds: float = 300.0
    lease_seconds: float = 60.0

    def retry_at(self, attempts: int, now: datetime) -> datetime | None:
        if attempts >= self.max_attempts:
            return None
        delay = doubled(self.first_retry_seconds, attempts - 1, self.max_retry_seconds)
        return now + timedelta(seconds=delay)

    def lease_until(self, now: datetime) -> datetime:
        """Until when a claimed message stays hidden from other relays."""
        return now + timedelta(seconds=self.lease_seconds)


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    given_up: int = 0

    def __iadd__(self, other: DeliveryReport) -> DeliveryReport:
        self.delivered += other.delivered
        self.failed += other.failed
        self.given_up += other.given_up
        return self


class MessageDelivery:
    """Runs every handler of each message, each in its own unit, then records the outcome."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, handlers: EventHandlers, policy: DeliveryPolicy
    ) -> None:
        self._uow_factory = uow_factory
        self._handlers = handlers
        self._policy = policy

    async def deliver(self, messages: Sequence[OutboxMessage]) -> DeliveryReport:
        failures = {
            message.id: error
            for message in messages
            if (error := await self._run_handlers(message)) is not None
        }
        return await self._record(messages, failures)

    async def _run_handlers(self, message: OutboxMessage) -> Exception | None:
        handlers = self._handlers.for_type(message.event_type)
        if not handlers:
            return None
        event = decode(message)
        for name, handler in handlers.items():
            try:
                await self._handle_once(message.id, name, handler, event)
            # A handler is the host's code: whatever it raises is logged and the message
            # retried later. The unit that raised the event has committed and stays so.
            except Exception as error:
                logger.exception("handler %s failed on message %s", name, message.id)
                return error
        return None

    async def _handle_once(
        self, message_id: UUID, name: str, handler: EventHandler, event: DomainEvent
    ) -> None:
        async with self._uow_factory() as uow:
            if await uow.processed_messages.contains(message_id, name):
                return
            await handler(event, uow)
            await uow.processed_messages.add(message_id, name, at=utc_now())
            await uow.commit()

    async def _record(
        self, messages: Sequence[OutboxMessage], failures: dict[UUID, Exception]
    ) -> DeliveryReport:
        now = utc_now()
        report = DeliveryReport(delivered=len(messages) - len(failures))
        async with self._uow_factory() as uow:
            await uow.outbox.mark_done([m.id for m in messages if m.id not in failures], at=now)
            for message in messages:
                if message.id not in failures:
                    continue
                attempts = message.attempts + 1
                retry_at = self._policy.retry_at(attempts, now)
                await uow.outbox.mark_failed(
                    message.id,
                    attempts=attempts,
                    error=describe(failures[message.id]),
                    retry_at=retry_at,
                )
                report.failed += 1
                if retry_at is None:
                    report.given_up += 1
                    logger.error("gave up on message %s after %d attempts", message.id, attempts)
            await uow.commit()
        return report
