"""Fixtures shared by every kind of test: settings profiles, databases, units of work."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy.ext.asyncio import AsyncEngine

from application.ports.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory
from infrastructure.database import migrations
from infrastructure.database.engine import create_engine, create_session_factory
from infrastructure.database.unit_of_work import SqlAlchemyUnitOfWork
from infrastructure.in_memory import InMemoryStore, InMemoryUnitOfWork
from infrastructure.settings import KeelSettings

# A local run tries few examples; CI (CI=true) tries many more.
settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "dev")

BACKENDS = ["memory", "sqlite"]


def sqlite_settings(path: Path, **overrides: object) -> KeelSettings:
    return KeelSettings.model_validate({"database_url": f"sqlite:///{path}", **overrides})


def sql_uow_factory(engine: AsyncEngine) -> UnitOfWorkFactory:
    session_factory = create_session_factory(engine)

    def factory(*, read_only: bool = False) -> AbstractUnitOfWork:
        return SqlAlchemyUnitOfWork(session_factory, read_only=read_only)

    return factory


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "keel.db"


@asynccontextmanager
async def migrated_sqlite_engine(path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on a SQLite file, migrated to the newest schema, disposed of afterwards."""
    engine = create_engine(sqlite_settings(path))
    try:
        await migrations.upgrade(engine)
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def sqlite_engine(database_path: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_sqlite_engine(database_path) as engine:
        yield engine


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def uow_factory(backend: str, database_path: Path) -> AsyncIterator[UnitOfWorkFactory]:
    """A unit-of-work factory on each backend: the in-memory fake and a real SQLite file."""
    if backend == "memory":
        store = InMemoryStore()

        def in_memory(*, read_only: bool = False) -> AbstractUnitOfWork:
            return InMemoryUnitOfWork(store, read_only=read_only)

        yield in_memory
        return
    async with migrated_sqlite_engine(database_path) as engine:
        yield sql_uow_factory(engine)
