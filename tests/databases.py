"""Fresh, real databases for tests: SQLite files, and databases on a PostgreSQL server."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.database import migrations
from infrastructure.database.engine import create_engine
from infrastructure.settings import KeelSettings
from tests.postgres_cluster import PostgresUnavailable, throwaway_cluster

POSTGRES_URL_VARIABLE = "KEEL_TEST_POSTGRES_URL"
"""A server to test against instead of a throwaway cluster; its user must create databases."""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def settings_for(url: str, **overrides: Any) -> KeelSettings:
    return KeelSettings.model_validate({"database_url": url, **overrides})


class PostgresServer:
    """Creates throwaway databases: empty ones, or copies of a template migrated once per run."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self.template = f"keel_template_{uuid4().hex[:8]}"

    def url_of(self, database: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + f"/{database}"

    async def create_database(self, *, migrated: bool) -> str:
        name = f"keel_test_{uuid4().hex[:12]}"
        # Names are generated here, never taken from input; CREATE DATABASE takes no parameters.
        await self._admin(
            f'CREATE DATABASE "{name}" TEMPLATE "{self.template if migrated else "template0"}"'
        )
        return name

    async def drop_database(self, name: str) -> None:
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def create_template(self) -> None:
        await self._admin(f'CREATE DATABASE "{self.template}" TEMPLATE "template0"')
        engine = create_engine(settings_for(self.url_of(self.template)))
        try:
            await migrations.upgrade(engine)
        finally:
            await engine.dispose()

    async def _admin(self, statement: str) -> None:
        connection = await asyncpg.connect(self.admin_url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()


def run_apart(work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `work` to completion on a loop of its own, in a thread of its own.

    The session's server is first asked for from inside a test's running event loop, where
    `asyncio.run` is not allowed.
    """
    with ThreadPoolExecutor(max_workers=1) as executor:
        executor.submit(asyncio.run, work()).result()


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """The server named by KEEL_TEST_POSTGRES_URL, or a throwaway cluster for this run.

    Where neither can be had, PostgreSQL tests are skipped with the reason, except in CI,
    where they fail: a CI run must prove both backends.
    """
    with ExitStack() as stack:
        try:
            url = os.environ.get(POSTGRES_URL_VARIABLE) or stack.enter_context(throwaway_cluster())
            server = PostgresServer(url)
            run_apart(server.create_template)
        except (PostgresUnavailable, OSError, asyncpg.PostgresError) as why:
            reason = f"PostgreSQL tests need a server ({POSTGRES_URL_VARIABLE} or initdb): {why}"
            if in_ci():
                pytest.fail(reason)
            pytest.skip(reason)
        try:
            yield server
        finally:
            run_apart(lambda: server.drop_database(server.template))


class Databases:
    """Fresh databases for one test, each removed or disposed of when the test ends."""

    def __init__(self, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self._tmp_path = tmp_path
        self._request = request
        self._engines: list[AsyncEngine] = []
        self._postgres_databases: list[str] = []

    async def url(self, backend: str, *, migrated: bool = True) -> str:
        if backend == "sqlite":
            path = self._tmp_path / f"keel-{uuid4().hex[:8]}.db"
            if migrated:
                await self._migrate(f"sqlite:///{path}")
            return f"sqlite:///{path}"
        assert backend == "postgres", backend
        server: PostgresServer = self._request.getfixturevalue("postgres")
        name = await server.create_database(migrated=migrated)
        self._postgres_databases.append(name)
        return server.url_of(name)

    async def engine(self, backend: str, *, migrated: bool = True, **settings: Any) -> AsyncEngine:
        engine = create_engine(settings_for(await self.url(backend, migrated=migrated), **settings))
        self._engines.append(engine)
        return engine

    async def close(self) -> None:
        for engine in self._engines:
            await engine.dispose()
        if self._postgres_databases:
            server: PostgresServer = self._request.getfixturevalue("postgres")
            for name in self._postgres_databases:
                await server.drop_database(name)

    @staticmethod
    async def _migrate(url: str) -> None:
        engine = create_engine(settings_for(url))
        try:
            await migrations.upgrade(engine)
        finally:
            await engine.dispose()
