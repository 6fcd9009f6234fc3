"""Refusals the database or the server cause: 503 with Retry-After, 500 that shows nothing."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from dependency_injector import providers

from application.use_cases import GetWalletQuery
from entrypoints.container import build_container
from entrypoints.http import create_app
from tests.conftest import sqlite_settings
from tests.e2e.support import Rows
from tests.http.conftest import serving
from tests.http.support import ABSENT, Api, assert_problem


async def test_a_database_locked_beyond_the_busy_timeout_is_a_503_to_retry(
    api: Api, database: Path, rows: Callable[[], Rows]
) -> None:
    ada = await api.register()
    impatient = build_container(
        sqlite_settings(database, sqlite_busy_timeout_seconds=0.05, retry_attempts=2)
    )
    before = rows()
    with closing(sqlite3.connect(database, isolation_level=None)) as writer:
        writer.execute("BEGIN IMMEDIATE")  # another writer holds the lock throughout
        async with serving(create_app(impatient)) as client:
            response = await client.post("/wallets", headers=ada.headers)
        writer.execute("ROLLBACK")

    assert_problem(response, 503, "try-again", "nothing was applied")
    assert response.headers["retry-after"] == "1"
    assert rows() == before


async def test_a_database_that_cannot_be_used_is_a_503(tmp_path: Path) -> None:
    not_a_database = tmp_path / "keel.db"
    not_a_database.write_bytes(b"certainly not SQLite " * 100)
    async with serving(create_app(build_container(sqlite_settings(not_a_database)))) as client:
        response = await client.get("/users/me", headers={"Authorization": "Bearer whatever"})

    assert_problem(response, 503, "database-unavailable", "nothing was applied")
    assert response.headers["retry-after"] == "1"


class Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def http_log() -> Iterator[Collected]:
    """What the app logs on `keel.http`, however logging was configured before."""
    handler = Collected()
    logger = logging.getLogger("keel.http")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


async def test_an_unexpected_error_is_a_500_that_shows_nothing_of_it_but_is_logged(
    database: Path, http_log: Collected
) -> None:
    async def broken(query: GetWalletQuery) -> None:
        raise RuntimeError("internal detail: /srv/secret/path")

    container = build_container(sqlite_settings(database))
    container.get_wallet.override(providers.Object(broken))
    async with serving(create_app(container)) as client:
        api = Api(client)
        ada = await api.register()
        response = await client.get(f"/wallets/{ABSENT}", headers=ada.headers)

    assert_problem(response, 500, "internal-error", "correlation id")
    assert "secret" not in response.text
    assert response.json()["detail"].endswith(f"{response.headers['x-correlation-id']})")
    [record] = http_log.records
    assert record.exc_info is not None
    assert "secret" in str(record.exc_info[1])
    assert ada.token not in record.getMessage()


async def test_an_unknown_path_and_a_wrong_method_are_problems_too(memory_api: Api) -> None:
    unknown = await memory_api.client.get("/nowhere")
    wrong_method = await memory_api.client.put("/users")

    assert_problem(unknown, 404, "not-found")
    assert_problem(wrong_method, 405, "method-not-allowed")
    assert wrong_method.headers["allow"] == "POST"


async def test_every_response_carries_a_correlation_id(memory_api: Api) -> None:
    first = await memory_api.client.get("/healthz")
    second = await memory_api.client.get("/healthz")
    assert len({first.headers["x-correlation-id"], second.headers["x-correlation-id"]}) == 2
