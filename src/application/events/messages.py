"""Domain events as outbox messages: plain JSON that any process can read back into events."""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from domain.credits import Credits
from domain.events import DomainEvent


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One event, as written to the outbox in the transaction of the unit that raised it."""

    id: UUID
    event_type: str
    payload: str
    occurred_at: datetime
    attempts: int = 0


def encode(event: DomainEvent) -> OutboxMessage:
    fields = {field.name: _plain(getattr(event, field.name)) for field in dataclasses.fields(event)}
    return OutboxMessage(
        id=uuid4(),
        event_type=type(event).__name__,
        payload=json.dumps(fields, sort_keys=True),
        occurred_at=event.occurred_at,
    )


def decode(message: OutboxMessage) -> DomainEvent:
    """The event a message was made from; `LookupError` for a type this process does not know."""
    event_type = event_types().get(message.event_type)
    if event_type is None:
        raise LookupError(f"unknown event type {message.event_type!r}")
    hints = _field_types(message.event_type)
    raw = json.loads(message.payload)
    return event_type(**{name: _typed(hints[name], value) for name, value in raw.items()})


@functools.cache
def event_types() -> dict[str, type[DomainEvent]]:
    """Every concrete event type, by the name messages carry; the domain defines them all at
    import, so they are collected once."""
    found: dict[str, type[DomainEvent]] = {}
    pending = list(DomainEvent.__subclasses__())
    while pending:
        event_type = pending.pop()
        found[event_type.__name__] = event_type
        pending += event_type.__subclasses__()
    return found


@functools.cache
def _field_types(event_type: str) -> dict[str, Any]:
    """The fields of the event type of this name, resolved once per process."""
    return typing.get_type_hints(event_types()[event_type])


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Credits):
        return str(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _typed(hint: Any, value: Any) -> Any:
    if hint is UUID:
        return UUID(value)
    if hint is Credits:
        return Credits(Decimal(value))
    if hint is datetime:
        return datetime.fromisoformat(value)
    return value
