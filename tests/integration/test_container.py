"""The container: one place that wires Keel, overridable per test without leaking."""

from __future__ import annotations

from pathlib import Path

from dependency_injector import providers
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from application.use_cases import GetWalletQuery, OpenWalletCommand, RegisterUserCommand
from entrypoints.container import Container, build_container, running
from infrastructure.database import migrations
from infrastructure.database.engine import create_engine
from infrastructure.database.unit_of_work import SqlAlchemyUnitOfWork
from infrastructure.in_memory import InMemoryStore, InMemoryUnitOfWork
from tests.conftest import sqlite_settings

ADA = RegisterUserCommand.model_validate({"email": "ada@example.com", "username": "ada"})


async def count_users(container: Container) -> int:
    async with container.engine().connect() as connection:
        return int(await connection.scalar(text("SELECT count(*) FROM users")) or 0)


async def test_the_container_wires_use_cases_to_the_sql_unit_of_work(
    container: Container,
) -> None:
    assert isinstance(container.uow(), SqlAlchemyUnitOfWork)
    user = await container.register_user()(ADA)
    assert user.username == "ada"
    assert await count_users(container) == 1


async def test_overriding_the_unit_of_work_reaches_every_use_case_and_no_other_container(
    container: Container, tmp_path: Path
) -> None:
    store = InMemoryStore()
    container.uow.override(providers.Factory(InMemoryUnitOfWork, store))

    user = await container.register_user()(ADA)

    assert list(store.users) == [user.id]
    assert await count_users(container) == 0
    other = build_container(sqlite_settings(tmp_path / "other.db"))
    assert isinstance(other.uow(), SqlAlchemyUnitOfWork)


async def test_read_only_use_cases_get_read_only_units(container: Container) -> None:
    opened: list[InMemoryUnitOfWork] = []
    store = InMemoryStore()

    def recording(*, read_only: bool = False) -> InMemoryUnitOfWork:
        opened.append(InMemoryUnitOfWork(store, read_only=read_only))
        return opened[-1]

    container.uow.override(providers.Callable(recording))
    user = await container.register_user()(ADA)
    wallet = await container.open_wallet()(OpenWalletCommand(owner_id=user.id))
    await container.get_wallet()(GetWalletQuery(wallet_id=wallet.id))
    assert [uow.read_only for uow in opened] == [False, False, True]


async def test_running_disposes_of_the_engine_it_created(database_path: Path) -> None:
    container = build_container(sqlite_settings(database_path))
    async with running(container):
        engine = container.engine()
        await migrations.upgrade(engine)
        pool = engine.pool
        assert isinstance(pool, QueuePool)
        assert pool.checkedin() == 1
    assert not container.engine.initialized
    assert pool.checkedin() == 0


async def test_a_host_engine_is_shared_and_left_open(database_path: Path) -> None:
    host_engine = create_engine(sqlite_settings(database_path))
    try:
        await migrations.upgrade(host_engine)
        container = build_container()
        container.engine.override(providers.Object(host_engine))
        async with running(container):
            await container.register_user()(ADA)
        async with host_engine.connect() as connection:
            assert await connection.scalar(text("SELECT username FROM users")) == "ada"
    finally:
        await host_engine.dispose()
