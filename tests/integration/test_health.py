"""The health check: a trivial query, the schema revision against the newest, the pool."""

from __future__ import annotations

from pathlib import Path

from infrastructure.database import migrations
from infrastructure.database.engine import create_engine
from infrastructure.database.health import check_health
from tests.databases import Databases, settings_for


async def test_a_migrated_reachable_database_is_healthy(
    sql_backend: str, databases: Databases
) -> None:
    engine = await databases.engine(sql_backend, pool_size=3)
    report = await check_health(engine)
    assert report.healthy
    assert (report.reachable, report.revision, report.problem) == (
        True,
        migrations.head_revision(),
        None,
    )
    assert report.pool is not None
    assert (report.pool.size, report.pool.checked_out) == (3, 0)
    assert report.pool.checked_in >= 1


async def test_an_unmigrated_database_is_unhealthy_and_says_why(
    sql_backend: str, databases: Databases
) -> None:
    report = await check_health(await databases.engine(sql_backend, migrated=False))
    assert not report.healthy
    assert report.reachable
    assert report.problem == f"at revision None, head is {migrations.head_revision()}"


async def test_an_unreachable_database_is_unhealthy_without_its_password() -> None:
    engine = create_engine(settings_for("postgresql://keel:hunter2@127.0.0.1:1/keel"))
    try:
        report = await check_health(engine)
    finally:
        await engine.dispose()
    assert (report.healthy, report.reachable) == (False, False)
    assert report.problem is not None
    assert "cannot reach the database" in report.problem
    assert "hunter2" not in repr(report)


async def test_a_file_that_is_not_a_database_is_unhealthy(tmp_path: Path) -> None:
    path = tmp_path / "keel.db"
    path.write_text("not a database\n" * 200)
    engine = create_engine(settings_for(f"sqlite:///{path}"))
    try:
        report = await check_health(engine)
    finally:
        await engine.dispose()
    assert not report.reachable
    assert "file is not a database" in (report.problem or "")
