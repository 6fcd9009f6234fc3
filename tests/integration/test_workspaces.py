"""Workspaces: one database per directory, migrated on first use, never shared."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.pool import QueuePool

from application.use_cases import RegisterUserCommand
from entrypoints.workspaces import DATABASE_IN_WORKSPACE, Workspaces
from infrastructure.database import migrations


async def test_two_workspaces_are_migrated_on_first_use_and_see_only_their_own_data(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    async with Workspaces() as workspaces:
        in_first = await workspaces.open(first)
        in_second = await workspaces.open(second)
        assert (await migrations.schema_status(in_first.engine())).up_to_date
        assert (await migrations.schema_status(in_second.engine())).up_to_date

        ada = RegisterUserCommand(email="ada@example.com", username="ada")
        await in_first.register_user()(ada)
        # The same email in the other workspace is no conflict: it is another database.
        await in_second.register_user()(ada)

        assert await workspaces.open(first) is in_first
    assert (first / DATABASE_IN_WORKSPACE).is_file()
    assert (second / DATABASE_IN_WORKSPACE).is_file()


async def test_closing_the_workspaces_disposes_of_their_engines(tmp_path: Path) -> None:
    workspaces = Workspaces()
    container = await workspaces.open(tmp_path / "only")
    engine = container.engine()
    await workspaces.close()
    assert not container.engine.initialized
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.checkedin() == 0
