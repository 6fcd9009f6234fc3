"""What every SQL repository does with its records: load, lock, and write back at commit."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from application.ports.repositories import TrackingRepository
from domain.events import Aggregate
from infrastructure.database.records import Record

A = TypeVar("A", bound=Aggregate)
R = TypeVar("R", bound=Record)


class SqlRepository(TrackingRepository[A], Generic[A, R]):
    """Keeps the record behind every aggregate the unit saw, and copies changes into it."""

    record_type: type[R]

    def __init__(self, session: AsyncSession, *, read_only: bool) -> None:
        super().__init__()
        self._session = session
        self._read_only = read_only
        self._records: dict[UUID, R] = {}

    async def _add(self, aggregate: A) -> None:
        record = self._new_record(aggregate)
        self._write(aggregate, record)
        self._session.add(record)
        self._records[aggregate.id] = record

    async def _load(self, ascending_ids: Sequence[UUID], *, lock: bool) -> list[A]:
        record_id: Any = self.record_type.id  # type: ignore[attr-defined]
        query = self._select().where(record_id.in_(ascending_ids)).order_by(record_id)
        # FOR UPDATE locks rows on PostgreSQL (SQLite renders none: BEGIN IMMEDIATE locked the
        # whole file). A read-only unit changes nothing, so it has nothing to lock.
        if lock and not self._read_only:
            query = query.with_for_update()
        records = (await self._session.scalars(query)).all()
        return [self._adopt(record) for record in records]

    def _adopt(self, record: R) -> A:
        aggregate = self._to_domain(record)
        self._records[aggregate.id] = record
        return aggregate

    def write_back(self) -> None:
        """Copy every seen aggregate into its record, so a change needs no explicit save."""
        for aggregate_id, aggregate in self.seen.items():
            self._write(aggregate, self._records[aggregate_id])

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
