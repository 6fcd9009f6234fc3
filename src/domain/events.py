"""Domain events: facts about what happened, recorded by aggregates and collected by the unit."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from domain.credits import Credits


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    occurred_at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True, kw_only=True)
class UserRegistered(DomainEvent):
    user_id: UUID
    email: str
    username: str


@dataclass(frozen=True, kw_only=True)
class WalletOpened(DomainEvent):
    wallet_id: UUID
    owner_id: UUID


@dataclass(frozen=True, kw_only=True)
class CreditsDeposited(DomainEvent):
    wallet_id: UUID
    amount: Credits
    entry_id: UUID


@dataclass(frozen=True, kw_only=True)
class CreditsTransferred(DomainEvent):
    source_wallet_id: UUID
    target_wallet_id: UUID
    amount: Credits
    entry_id: UUID


@dataclass(frozen=True, kw_only=True)
class TaskCreated(DomainEvent):
    task_id: UUID
    creator_id: UUID
    bounty: Credits


@dataclass(frozen=True, kw_only=True)
class TaskStatusChanged(DomainEvent):
    task_id: UUID
    status: str


@dataclass(frozen=True, kw_only=True)
class BountyPaid(DomainEvent):
    task_id: UUID
    wallet_id: UUID
    amount: Credits
    entry_id: UUID


class Aggregate:
    """Base of the aggregates: keeps the events raised since the unit loaded it."""

    id: UUID

    def __init__(self) -> None:
        self._pending_events: list[DomainEvent] = []

    def record(self, event: DomainEvent) -> None:
        self._pending_events.append(event)

    def pull_events(self) -> list[DomainEvent]:
        """Hand over the recorded events and forget them, so none is delivered twice."""
        events, self._pending_events = self._pending_events, []
        return events
