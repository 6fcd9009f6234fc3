"""Port of the idempotency records: the outcome of the first run of each keyed command."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class StoredOutcome:
    key: str
    operation: str
    fingerprint: str
    result: str
    created_at: datetime


class IdempotencyRepository(abc.ABC):
    @abc.abstractmethod
    async def get(self, key: str) -> StoredOutcome | None: ...

    @abc.abstractmethod
    async def add(self, outcome: StoredOutcome) -> None:
        """Store the outcome; a key stored already is a `Conflict` at the latest at commit."""
