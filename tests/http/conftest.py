"""The HTTP app on a migrated SQLite file (or on the in-memory fake), and clients for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from dependency_injector import providers
from fastapi import FastAPI

from entrypoints.container import Container, build_container
from entrypoints.http import create_app
from infrastructure.in_memory import InMemoryStore, InMemoryUnitOfWork
from tests.conftest import migrated_sqlite_engine, sqlite_settings
from tests.e2e.support import Keel, Rows
from tests.http.support import Api

BASE_URL = "http://keel.test"


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client on `app` with its lifespan running, as a server would run it."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        yield client


@pytest.fixture
async def database(tmp_path: Path) -> Path:
    """A SQLite file migrated to the newest revision."""
    path = tmp_path / "keel.db"
    async with migrated_sqlite_engine(path):
        pass
    return path


@pytest.fixture
def container(database: Path) -> Container:
    return build_container(sqlite_settings(database))


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_app(container)) as client:
        yield client


@pytest.fixture
def api(client: httpx.AsyncClient) -> Api:
    return Api(client)


@pytest.fixture
def rows(database: Path) -> Callable[[], Rows]:
    """Every row of Keel's tables, read past the app: to prove a refusal wrote nothing."""
    return Keel(database).rows


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
async def memory_api(store: InMemoryStore, tmp_path: Path) -> AsyncIterator[Api]:
    """The app on the in-memory fake: for what is about HTTP only, not the database."""
    container = build_container(sqlite_settings(tmp_path / "never-created.db"))
    container.uow.override(providers.Factory(InMemoryUnitOfWork, store))
    async with serving(create_app(container)) as client:
        yield Api(client)
