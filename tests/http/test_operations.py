"""The probes: /healthz says the process is up, /readyz whether the database can serve."""

from __future__ import annotations

from pathlib import Path

import httpx

from entrypoints.container import build_container
from entrypoints.http import create_app
from infrastructure.database.migrations import head_revision
from tests.conftest import sqlite_settings
from tests.http.conftest import serving


async def test_healthz_answers_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_is_200_on_a_migrated_reachable_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    ready = response.json()
    assert (ready["ready"], ready["reachable"], ready["problem"]) == (True, True, None)
    assert ready["revision"] == ready["head"] == head_revision()
    assert ready["pool"]["size"] >= 1
    assert "sqlite" not in response.text  # the database's address is not for the public


async def test_readyz_is_503_on_a_database_that_is_not_migrated(tmp_path: Path) -> None:
    app = create_app(build_container(sqlite_settings(tmp_path / "empty.db")))
    async with serving(app) as client:
        response = await client.get("/readyz")

    assert response.status_code == 503
    ready = response.json()
    assert (ready["ready"], ready["reachable"], ready["revision"]) == (False, True, None)
    assert ready["problem"].startswith("at revision None")


async def test_readyz_is_503_when_the_database_cannot_be_used(tmp_path: Path) -> None:
    not_a_database = tmp_path / "keel.db"
    not_a_database.write_bytes(b"certainly not SQLite " * 100)
    app = create_app(build_container(sqlite_settings(not_a_database)))
    async with serving(app) as client:
        response = await client.get("/readyz")
        healthz = await client.get("/healthz")

    assert response.status_code == 503
    assert (response.json()["ready"], response.json()["reachable"]) == (False, False)
    assert healthz.status_code == 200
