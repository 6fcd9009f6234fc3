"""Where a host registers what should happen after an event's unit has committed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from domain.events import DomainEvent

if TYPE_CHECKING:
    from application.ports.unit_of_work import AbstractUnitOfWork

EventHandler = Callable[[DomainEvent, "AbstractUnitOfWork"], Awaitable[None]]
"""Applies one event inside its own, open unit of work; Keel commits that unit afterwards,
together with the record that this handler processed this message."""


class EventHandlers:
    """Handlers by event type, each under a name that is stable across deployments.

    The name keys the processed-message records: renaming a handler makes it see old
    messages as new.
    """

    def __init__(self) -> None:
        self._by_type: dict[str, dict[str, EventHandler]] = {}

    def register(self, event_type: type[DomainEvent], name: str, handler: EventHandler) -> None:
        named = self._by_type.setdefault(event_type.__name__, {})
        if name in named:
            raise ValueError(f"a handler named {name!r} already handles {event_type.__name__}")
        named[name] = handler

    def for_type(self, event_type: str) -> dict[str, EventHandler]:
        return self._by_type.get(event_type, {})

    def handles(self, event_type: str) -> bool:
        return event_type in self._by_type
