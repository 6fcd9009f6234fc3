"""The outbox relay: delivers what was committed but not yet handed to its handlers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from application.events.delivery import DeliveryPolicy, DeliveryReport, MessageDelivery
from domain.events import utc_now

if TYPE_CHECKING:
    from application.ports.unit_of_work import UnitOfWorkFactory

ProgressCallback = Callable[[DeliveryReport], None]


class OutboxRelay:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, delivery: MessageDelivery, policy: DeliveryPolicy
    ) -> None:
        self._uow_factory = uow_factory
        self._delivery = delivery
        self._policy = policy

    async def drain(
        self, *, batch_size: int = 100, progress: ProgressCallback | None = None
    ) -> DeliveryReport:
        """Deliver every message that was due when the drain began, then return.

        Messages that fail are rescheduled for later, past the drain's start, so a drain
        always ends.
        """
        started_at = utc_now()
        total = DeliveryReport()
        while True:
            async with self._uow_factory() as uow:
                batch = await uow.outbox.claim_due(
                    now=started_at,
                    lease_until=self._policy.lease_until(utc_now()),
                    limit=batch_size,
                )
                await uow.commit()
            if not batch:
                return total
            total += await self._delivery.deliver(batch)
            if progress is not None:
                progress(total)

    async def follow(
        self,
        stop: asyncio.Event,
        *,
        poll_seconds: float = 1.0,
        batch_size: int = 100,
        progress: ProgressCallback | None = None,
    ) -> DeliveryReport:
        """Drain, wait `poll_seconds`, and again, until `stop` is set."""
        total = DeliveryReport()
        while not stop.is_set():
            total += await self.drain(batch_size=batch_size, progress=progress)
            # The wait ending by timeout is the normal case: time to look again.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), poll_seconds)
        return total
