"""Fixtures shared by every kind of test: settings profiles, databases, units of work."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy.ext.asyncio import AsyncEngine

from application.events.delivery import DeliveryPolicy
from application.events.handlers import EventHandlers
from application.ports.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory
from infrastructure.database import migrations
from infrastructure.database.engine import create_engine, create_session_factory
from infrastructure.database.unit_of_work import SqlAlchemyUnitOfWork
from infrastructure.in_memory import InMemoryStore, InMemoryUnitOfWork
from infrastructure.settings import KeelSettings
from tests.databases import Databases, PostgresServer, in_ci, postgres_server, settings_for

# A local run tries few examples; CI (CI=true) tries many more.
settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if in_ci() else "dev")

SQL_BACKENDS = ["sqlite", "postgres"]
BACKENDS = ["memory", *SQL_BACKENDS]


def sqlite_settings(path: Path, **overrides: object) -> KeelSettings:
    return settings_for(f"sqlite:///{path}", **overrides)


def sql_uow_factory(
    engine: AsyncEngine,
    handlers: EventHandlers | None = None,
    delivery_policy: DeliveryPolicy | None = None,
) -> UnitOfWorkFactory:
    session_factory = create_session_factory(engine)

    def factory(*, read_only: bool = False) -> AbstractUnitOfWork:
        return SqlAlchemyUnitOfWork(
            session_factory,
            read_only=read_only,
            handlers=handlers,
            delivery_policy=delivery_policy,
        )

    return factory


class UnitOfWorkMaker(Protocol):
    """Unit-of-work factories on one storage, each with its own handlers and delivery policy."""

    def __call__(
        self, handlers: EventHandlers | None = None, delivery_policy: DeliveryPolicy | None = None
    ) -> UnitOfWorkFactory: ...


@asynccontextmanager
async def migrated_sqlite_engine(path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on a SQLite file, migrated to the newest schema, disposed of afterwards."""
    engine = create_engine(sqlite_settings(path))
    try:
        await migrations.upgrade(engine)
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole run, started only if a test asks for one."""
    with postgres_server() as server:
        yield server


@pytest.fixture
async def databases(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Databases]:
    created = Databases(tmp_path, request)
    try:
        yield created
    finally:
        await created.close()


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "keel.db"


@pytest.fixture
async def sqlite_engine(database_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_sqlite_engine(database_path) as engine:
        yield engine


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=SQL_BACKENDS)
def sql_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def engine(sql_backend: str, databases: Databases) -> AsyncEngine:
    """An engine on a fresh, migrated database of each SQL backend."""
    return await databases.engine(sql_backend)


@pytest.fixture
async def uow_maker(backend: str, databases: Databases) -> UnitOfWorkMaker:
    """Makers of unit-of-work factories on each backend: the fake, SQLite and PostgreSQL."""
    if backend == "memory":
        store = InMemoryStore()

        def make_in_memory(
            handlers: EventHandlers | None = None, delivery_policy: DeliveryPolicy | None = None
        ) -> UnitOfWorkFactory:
            def in_memory(*, read_only: bool = False) -> AbstractUnitOfWork:
                return InMemoryUnitOfWork(
                    store, read_only=read_only, handlers=handlers, delivery_policy=delivery_policy
                )

            return in_memory

        return make_in_memory
    engine = await databases.engine(backend)

    def make_sql(
        handlers: EventHandlers | None = None, delivery_policy: DeliveryPolicy | None = None
    ) -> UnitOfWorkFactory:
        return sql_uow_factory(engine, handlers, delivery_policy)

    return make_sql


@pytest.fixture
def uow_factory(uow_maker: UnitOfWorkMaker) -> UnitOfWorkFactory:
    """A unit-of-work factory on each backend, with no event handlers."""
    return uow_maker()


def pytest_report_header() -> str:
    when_missing = "fail" if in_ci() else "skip"
    return f"PostgreSQL tests {when_missing} when no server can be had (CI={in_ci()})"
