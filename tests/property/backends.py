"""What both property tests run on: a backend whose units fail where the test says, and plain
reads of its storage past any unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from application.ports.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory
from domain.credits import DECIMAL_PLACES
from infrastructure.database.engine import READ_ONLY_OPTION
from infrastructure.database.unit_of_work import SqlAlchemyUnitOfWork
from infrastructure.in_memory import InMemoryStore, InMemoryUnitOfWork
from tests.databases import Databases
from tests.property.faults import FaultPoint, FaultSwitch, faulty, sessions_failing_after_flush

B = TypeVar("B")


def from_minor_units(minor_units: int) -> Decimal:
    return Decimal(minor_units).scaleb(-DECIMAL_PLACES)


def to_minor_units(amount: Decimal) -> int:
    return int(amount.scaleb(DECIMAL_PLACES))


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A fresh connection: it sees what is committed, never a unit's identity map."""
    async with engine.connect() as connection:
        # A reader needs no write lock: BEGIN DEFERRED, as the application's read-only units.
        yield await connection.execution_options(**{READ_ONLY_OPTION: True})


@dataclass(frozen=True)
class Harness(Generic[B]):
    """Units on one backend that fail at the switch's chosen point, and books that read the
    backend's storage directly."""

    uow_factory: UnitOfWorkFactory
    switch: FaultSwitch
    books: B
    fault_points: tuple[FaultPoint, ...]


async def harness_on(
    backend: str,
    databases: Databases,
    store_books: Callable[[InMemoryStore], B],
    sql_books: Callable[[AsyncEngine], B],
) -> Harness[B]:
    """One store or database for a whole test function; examples add their own rows."""
    switch = FaultSwitch()
    if backend == "memory":
        store = InMemoryStore()

        def in_memory(*, read_only: bool = False) -> AbstractUnitOfWork:
            return InMemoryUnitOfWork(store, read_only=read_only)

        # The fake has no SQL to flush, so it has no point between flush and commit.
        points = (FaultPoint.IN_THE_MIDDLE, FaultPoint.BEFORE_COMMIT)
        return Harness(faulty(in_memory, switch), switch, store_books(store), points)
    engine = await databases.engine(backend)
    sessions = sessions_failing_after_flush(engine, switch)

    def on_sql(*, read_only: bool = False) -> AbstractUnitOfWork:
        return SqlAlchemyUnitOfWork(sessions, read_only=read_only)

    return Harness(faulty(on_sql, switch), switch, sql_books(engine), tuple(FaultPoint))
