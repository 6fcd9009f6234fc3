"""The host's route, tested with Keel's adapters swapped for the in-memory fake, and once on a
real database through the shared engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from dependency_injector import providers
from sqlalchemy import text

from host_service.app import create_host_app
from host_service.container import HostContainer, build_host_container
from infrastructure.database import migrations
from infrastructure.in_memory import InMemoryStore, InMemoryUnitOfWork
from infrastructure.settings import KeelSettings


def sqlite_settings(path: Path) -> KeelSettings:
    return KeelSettings.model_validate({"database_url": f"sqlite:///{path}"})


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def host(store: InMemoryStore, tmp_path: Path) -> HostContainer:
    """The host's container with Keel's units of work on the in-memory fake."""
    host = build_host_container(sqlite_settings(tmp_path / "never-created.db"))
    host.keel.uow.override(providers.Factory(InMemoryUnitOfWork, store))
    return host


@pytest.fixture
async def client(host: HostContainer) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_host_app(host))
    async with httpx.AsyncClient(transport=transport, base_url="http://host.test") as client:
        yield client


async def test_signing_up_registers_the_member_through_keel(
    client: httpx.AsyncClient, store: InMemoryStore, tmp_path: Path
) -> None:
    response = await client.post("/members", json={"email": "Ada@Example.com", "username": "ada"})

    assert response.status_code == 201
    member = response.json()
    assert member["username"] == "ada"
    assert "api_token" not in member
    [user] = store.users.values()
    assert (str(user.id), user.email) == (member["id"], "ada@example.com")
    assert not (tmp_path / "never-created.db").exists()


async def test_a_taken_username_is_a_409_and_registers_nobody_else(
    client: httpx.AsyncClient, store: InMemoryStore
) -> None:
    await client.post("/members", json={"email": "ada@example.com", "username": "ada"})

    response = await client.post("/members", json={"email": "eve@example.com", "username": "ada"})

    assert response.status_code == 409
    assert [user.email for user in store.users.values()] == ["ada@example.com"]


async def test_an_override_reaches_only_its_own_host_container(
    host: HostContainer, tmp_path: Path
) -> None:
    other = build_host_container(sqlite_settings(tmp_path / "other.db"))
    assert isinstance(host.keel.uow(), InMemoryUnitOfWork)
    assert not isinstance(other.keel.uow(), InMemoryUnitOfWork)


async def test_keel_works_on_the_hosts_own_engine(tmp_path: Path) -> None:
    host = build_host_container(sqlite_settings(tmp_path / "host.db"))
    app = create_host_app(host)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://host.test") as client,
    ):
        engine = host.engine()
        assert host.keel.engine() is engine
        await migrations.upgrade(engine)
        response = await client.post(
            "/members", json={"email": "ada@example.com", "username": "ada"}
        )
        async with engine.connect() as connection:
            usernames = (await connection.scalars(text("SELECT username FROM users"))).all()

    assert response.status_code == 201
    assert usernames == ["ada"]
