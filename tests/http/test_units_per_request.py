"""Every request works in units of its own: concurrent requests never share a session."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from dependency_injector import providers
from sqlalchemy.ext.asyncio import AsyncSession

from entrypoints.container import build_container
from entrypoints.http import create_app
from infrastructure.database.unit_of_work import SqlAlchemyUnitOfWork
from infrastructure.in_memory import InMemoryStore
from tests.conftest import sqlite_settings
from tests.http.conftest import serving
from tests.http.support import Api


class Meeting:
    """Holds the first `parties` units open until all of them are: proof that they overlap."""

    def __init__(self, parties: int) -> None:
        self.barrier = asyncio.Barrier(parties)
        self.waiting = parties
        self.sessions: list[AsyncSession] = []

    def session_factory(self, real: Callable[[], AsyncSession]) -> Callable[[], AsyncSession]:
        def recording() -> AsyncSession:
            session = real()
            self.sessions.append(session)
            return session

        return recording

    async def attend(self) -> None:
        if self.waiting > 0:
            self.waiting -= 1
            async with asyncio.timeout(5):  # units that took turns would never all meet
                await self.barrier.wait()


def meeting_unit(meeting: Meeting) -> type[SqlAlchemyUnitOfWork]:
    class MeetingUnitOfWork(SqlAlchemyUnitOfWork):
        async def __aenter__(self) -> Self:
            unit = await super().__aenter__()
            await meeting.attend()
            return unit

    return MeetingUnitOfWork


async def test_two_concurrent_requests_work_in_different_units_and_sessions(
    database: Path,
) -> None:
    container = build_container(sqlite_settings(database))
    meeting = Meeting(parties=2)
    async with serving(create_app(container)) as client:
        api = Api(client)
        ada, bob = await api.register("ada"), await api.register("bob")
        session_factory = meeting.session_factory(container.session_factory())
        container.uow.override(providers.Factory(meeting_unit(meeting), session_factory))

        ada_me, bob_me = await asyncio.gather(
            client.get("/users/me", headers=ada.headers),
            client.get("/users/me", headers=bob.headers),
        )

    assert (ada_me.json()["username"], bob_me.json()["username"]) == ("ada", "bob")
    assert meeting.waiting == 0
    assert len(meeting.sessions) == 2
    assert meeting.sessions[0] is not meeting.sessions[1]


async def test_the_in_memory_fake_serves_the_same_api_without_a_database(
    memory_api: Api, store: InMemoryStore, tmp_path: Path
) -> None:
    ada = await memory_api.register("ada")
    wallet_id = await memory_api.open_wallet(ada, deposit="12.34")

    wallet: dict[str, Any] = await memory_api.ok("GET", f"/wallets/{wallet_id}", ada)

    assert wallet["balance"] == "12.34"
    assert [user.username for user in store.users.values()] == ["ada"]
    assert not (tmp_path / "never-created.db").exists()
