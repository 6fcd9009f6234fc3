"""A migration that fails halfway leaves the database exactly as it was."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.database import migrations
from infrastructure.database.backup import BackupMissing, back_up, restore
from tests.builders import stored_wallet
from tests.conftest import sql_uow_factory
from tests.databases import Databases

FAILING_REVISION = '''
"""Creates a table and a column, then fails: a stand-in for a migration with a bug."""

import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}
    raise RuntimeError("the migration failed halfway")


def downgrade() -> None:
    pass
'''


CHANGES = """
    op.create_table("half_done", sa.Column("id", sa.Integer(), primary_key=True))
    op.add_column("users", sa.Column("nickname", sa.String(40), nullable=True))
    op.execute("UPDATE users SET nickname = 'changed'")"""


def failing_scripts(directory: Path, body: str) -> Path:
    """Keel's migrations plus one more, on top of the head, that fails halfway."""
    scripts = directory / "alembic"
    shutil.copytree(migrations.SCRIPT_LOCATION, scripts)
    revision = FAILING_REVISION.replace("{head}", migrations.head_revision() or "")
    (scripts / "versions" / "9999_fails_halfway.py").write_text(revision.replace("{body}", body))
    return scripts


def sqlite_dump(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as connection:
        return list(connection.iterdump())


async def schema_and_rows(
    engine: AsyncEngine,
) -> tuple[dict[str, list[str]], list[tuple[object, ...]]]:
    async with engine.connect() as connection:
        schema = await connection.run_sync(
            lambda sync: {
                table: [column["name"] for column in inspect(sync).get_columns(table)]
                for table in inspect(sync).get_table_names()
            }
        )
        rows = (await connection.execute(text("SELECT * FROM users ORDER BY id"))).all()
    return schema, [tuple(row) for row in rows]


async def test_a_failed_upgrade_restores_the_sqlite_file_exactly(
    databases: Databases, tmp_path: Path
) -> None:
    engine = await databases.engine("sqlite")
    await stored_wallet(sql_uow_factory(engine), balance="12.50")
    database = Path(str(engine.url.database))
    before = sqlite_dump(database)

    with pytest.raises(RuntimeError, match="failed halfway"):
        await migrations.upgrade_with_backup(engine, scripts=failing_scripts(tmp_path, CHANGES))

    assert sqlite_dump(database) == before
    assert database.with_name(database.name + ".pre-upgrade.backup").is_file()


async def test_an_upgrade_that_committed_part_of_its_work_is_undone_from_the_backup(
    databases: Databases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = await databases.engine("sqlite")
    await stored_wallet(sql_uow_factory(engine), balance="3")
    database = Path(str(engine.url.database))
    before = sqlite_dump(database)

    async def commits_then_fails(engine: AsyncEngine, revision: str, *, scripts: Path) -> None:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE half_done (id INTEGER)"))
            await connection.execute(text("DELETE FROM ledger_postings"))
        raise RuntimeError("the migration failed after committing")

    # Only the backup can undo work that an upgrade step committed before it failed.
    monkeypatch.setattr(migrations, "upgrade", commits_then_fails)
    with pytest.raises(RuntimeError, match="after committing"):
        await migrations.upgrade_with_backup(engine, scripts=failing_scripts(tmp_path, CHANGES))

    assert sqlite_dump(database) == before


async def test_a_failed_upgrade_leaves_the_postgres_schema_unchanged(
    databases: Databases, tmp_path: Path
) -> None:
    engine = await databases.engine("postgres")
    await stored_wallet(sql_uow_factory(engine), balance="12.50")
    before = await schema_and_rows(engine)

    with pytest.raises(RuntimeError, match="failed halfway"):
        await migrations.upgrade_with_backup(engine, scripts=failing_scripts(tmp_path, CHANGES))

    assert await schema_and_rows(engine) == before
    assert (await migrations.schema_status(engine)).current == migrations.head_revision()


async def test_a_backup_restores_a_later_state_to_the_earlier_one(databases: Databases) -> None:
    engine = await databases.engine("sqlite")
    database = Path(str(engine.url.database))
    backup = database.with_name("saved.backup")
    await back_up(database, backup)
    before = sqlite_dump(database)
    await stored_wallet(sql_uow_factory(engine), balance="1")
    assert sqlite_dump(database) != before

    await engine.dispose()
    await restore(backup, database)

    assert sqlite_dump(database) == before


async def test_restoring_from_a_missing_backup_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BackupMissing, match="no database file"):
        await restore(tmp_path / "absent.backup", tmp_path / "keel.db")
    assert not (tmp_path / "keel.db").exists()
