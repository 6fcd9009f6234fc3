"""Event handlers for `KEEL_EVENT_HANDLERS` in end-to-end tests: each writes what it handled."""

from __future__ import annotations

import os
from pathlib import Path

from application.events.handlers import EventHandlers
from application.ports.unit_of_work import AbstractUnitOfWork
from domain.events import CreditsDeposited, DomainEvent

HANDLED_FILE = "KEEL_TEST_HANDLED_FILE"
"""The file each handled event's type is appended to, one line per event."""


async def note_deposit(event: DomainEvent, uow: AbstractUnitOfWork) -> None:
    assert isinstance(event, CreditsDeposited)
    _append(f"{type(event).__name__} {event.amount}\n")


def _append(line: str) -> None:
    with Path(os.environ[HANDLED_FILE]).open("a") as handled:
        handled.write(line)


def register(handlers: EventHandlers) -> None:
    handlers.register(CreditsDeposited, "note-deposit", note_deposit)
