"""`keel db` and `keel doctor`: the schema, backups, and the database's health."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from entrypoints.cli.errors import EXIT_REFUSED, DatabaseNotReady, fail, reported_errors
from entrypoints.cli.output import json_option
from entrypoints.cli.runtime import database_label, load_settings, run_request, workspace
from infrastructure.database import migrations
from infrastructure.database.backup import back_up, restore, sqlite_file
from infrastructure.database.engine import missing_sqlite_file, normalize_database_url
from infrastructure.database.health import HealthReport, check_health


@click.group("db", help="Migrate, back up and restore the database.")
def database() -> None:
    pass


@database.command(help="Migrate to REVISION (default: the newest); SQLite is backed up first.")
@click.argument("revision", default="head")
@reported_errors
def upgrade(revision: str) -> None:
    status = run_request(
        lambda container: migrations.upgrade_with_backup(container.engine(), revision),
        needs_schema=False,
    )
    click.echo(f"database {database_label(load_settings())} is at revision {status.current}")


@database.command(
    help="Migrate back to REVISION ('base' removes every table, '-1' undoes one step).",
    context_settings={"ignore_unknown_options": True},  # so that '-1' is a revision
)
@click.argument("revision")
@reported_errors
def downgrade(revision: str) -> None:
    _require_database_file("nothing to downgrade")
    status = run_request(
        lambda container: migrations.downgrade(container.engine(), revision), needs_schema=False
    )
    click.echo(
        f"database {database_label(load_settings())} is at revision {status.current or 'base'}"
    )


@database.command(help="Show the database's revision and the newest one.")
@reported_errors
def current() -> None:
    missing = missing_sqlite_file(load_settings())
    if missing is not None:
        head = migrations.head_revision()
        click.echo(f"current: none (database file {missing} does not exist)  head: {head}")
        return
    status = run_request(
        lambda container: migrations.schema_status(container.engine()), needs_schema=False
    )
    click.echo(f"current: {status.current or 'none'}  head: {status.head}")


@database.command(help="Write a consistent copy of the SQLite database to TARGET.")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@reported_errors
def backup(target: Path) -> None:
    _require_database_file("nothing to back up")
    source = _sqlite_path()
    if target.exists():
        fail(f"{target} exists already: choose a new file", EXIT_REFUSED)
    run_request(lambda _: back_up(source, target), needs_schema=False)
    click.echo(f"backed up {source} to {target}")


@database.command(
    "restore", help="Replace the SQLite database with the copy in SOURCE (stop writers first)."
)
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@reported_errors
def restore_database(source: Path) -> None:
    target = _sqlite_path()
    run_request(lambda _: restore(source, target), needs_schema=False)
    click.echo(f"restored {target} from {source}")


@click.command(help="Check the database: reachable, migrated, and the connection pool.")
@json_option
@reported_errors
def doctor(as_json: bool) -> None:
    _require_database_file("run `keel db upgrade`")
    report = run_request(lambda container: check_health(container.engine()), needs_schema=False)
    click.echo(_as_json(report) if as_json else _describe(report))
    if not report.healthy:
        raise SystemExit(EXIT_REFUSED)


def _sqlite_path() -> Path:
    path = sqlite_file(normalize_database_url(load_settings().database_url.get_secret_value()))
    if path is None:
        fail("backup and restore work on SQLite files; use pg_dump for PostgreSQL", EXIT_REFUSED)
    return path


def _require_database_file(otherwise: str) -> None:
    """Refuse before connecting, which would create an empty file; a workspace creates its own."""
    missing = missing_sqlite_file(load_settings())
    if missing is not None and workspace.get() is None:
        raise DatabaseNotReady(f"database file {missing} does not exist: {otherwise}")


def _describe(report: HealthReport) -> str:
    pool = report.pool
    lines = [
        f"database: {report.database}",
        f"status:   {'healthy' if report.healthy else 'UNHEALTHY: ' + (report.problem or '')}",
        f"schema:   revision {report.revision or 'none'}, head {report.head}",
    ]
    if pool is not None:
        lines.append(
            f"pool:     size {pool.size}, checked in {pool.checked_in}, "
            f"checked out {pool.checked_out}, overflow {pool.overflow}"
        )
    return "\n".join(lines)


def _as_json(report: HealthReport) -> str:
    return json.dumps({**asdict(report), "healthy": report.healthy})
