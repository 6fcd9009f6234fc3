"""What every SQL repository does with its records: load, lock, and write back at commit."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import Select, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from application.ports.repositories import TrackingRepository
from domain.events import Aggregate
from infrastructure.database.records import Record

IDS_PER_QUERY = 5000

A = TypeVar("A", bound=Aggregate)
R = TypeVar("R", bound=Record)


def chunked(ids: Sequence[UUID]) -> Iterator[Sequence[UUID]]:
    """`ids` in order, a query's worth at a time: the drivers limit bound parameters (32,767
    on asyncpg), and ascending chunks of ascending ids keep the locking order ascending."""
    for start in range(0, len(ids), IDS_PER_QUERY):
        yield ids[start : start + IDS_PER_QUERY]


class SqlRepository(TrackingRepository[A], Generic[A, R]):
    """Keeps the record behind every aggregate the unit saw, and copies changes into it."""

    record_type: type[R]
    loaded_relationships: tuple[str, ...] = ()
    """The relationships the repository loads with its records; the others are never loaded."""

    def __init__(self, session: AsyncSession, *, read_only: bool) -> None:
        super().__init__()
        self._session = session
        self._read_only = read_only
        self._records: dict[UUID, R] = {}
        self._added: set[UUID] = set()

    async def _add(self, aggregate: A) -> None:
        self._added.add(aggregate.id)
        record = self._new_record(aggregate)
        self._write(aggregate, record)
        self._session.add(record)
        self._records[aggregate.id] = record

    async def _load(self, ascending_ids: Sequence[UUID], *, lock: bool) -> list[A]:
        record_id: Any = self.record_type.id  # type: ignore[attr-defined]
        loaded: list[A] = []
        for chunk in chunked(ascending_ids):
            query = self._select().where(record_id.in_(chunk)).order_by(record_id)
            # FOR UPDATE locks rows on PostgreSQL (SQLite renders none: BEGIN IMMEDIATE locked
            # the whole file). A read-only unit changes nothing, so it has nothing to lock.
            if lock and not self._read_only:
                query = query.with_for_update()
            loaded += [self._adopt(record) for record in await self._session.scalars(query)]
        return loaded

    def _forget(self, aggregate_id: UUID) -> None:
        self._records.pop(aggregate_id, None)
        self._added.discard(aggregate_id)

    async def reload_expired(self) -> None:
        """Reread the records a rolled-back savepoint expired: they hold its start's state."""
        loaded = {*inspect(self.record_type).column_attrs.keys(), *self.loaded_relationships}
        for record in self._records.values():
            expired = inspect(record).expired_attributes & loaded
            if expired:
                await self._session.refresh(record, attribute_names=sorted(expired))

    def _adopt(self, record: R) -> A:
        aggregate = self._to_domain(record)
        self._records[aggregate.id] = record
        return aggregate

    def write_back(self) -> None:
        """Copy every seen aggregate into its record, so a change needs no explicit save.

        A changed versioned record gets the version after the one the unit loaded, however
        often the unit flushes: one unit, one new version.
        """
        for aggregate_id, aggregate in self.seen.items():
            record = self._records[aggregate_id]
            self._write(aggregate, record)
            loaded_version = getattr(aggregate, "version", None)
            if loaded_version is None or aggregate_id in self._added:
                continue
            if self._session.is_modified(record):
                record.version = loaded_version + 1  # type: ignore[attr-defined]

    def read_versions(self) -> None:
        """Take the versions the database assigned at flush back into the aggregates."""
        for aggregate_id, aggregate in self.seen.items():
            self._read_version(aggregate, self._records[aggregate_id])

    def _select(self) -> Select[R]:
        return select(self.record_type)

    def _read_version(self, aggregate: A, record: R) -> None:
        """Versioned aggregates copy `record.version`; the others have none."""

    @abc.abstractmethod
    def _new_record(self, aggregate: A) -> R: ...

    @abc.abstractmethod
    def _to_domain(self, record: R) -> A: ...

    @abc.abstractmethod
    def _write(self, aggregate: A, record: R) -> None: ...
