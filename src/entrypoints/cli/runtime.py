"""Running one CLI request: settings, container, a schema check, then the use case."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from pathlib import Path
from typing import TypeVar
from uuid import uuid4

import pydantic

from application.audit import correlation_id
from entrypoints.cli.errors import DatabaseNotReady, InvalidSettings
from entrypoints.container import Container, build_container, running
from entrypoints.log_output import configure_logging
from entrypoints.workspaces import Workspaces, workspace_settings
from infrastructure.database import migrations
from infrastructure.database.engine import missing_sqlite_file, normalize_database_url, redacted
from infrastructure.database.errors import translated_database_errors
from infrastructure.settings import KeelSettings

T = TypeVar("T")


workspace: ContextVar[Path | None] = ContextVar("keel_cli_workspace", default=None)


def start_invocation(directory: Path | None) -> None:
    """Once per `keel` command: its workspace, its logging and its correlation id."""
    workspace.set(directory)
    configure_logging(load_settings())
    correlation_id.set(uuid4().hex)


def load_settings() -> KeelSettings:
    """The settings from the environment, pointed at the workspace's database if one is set."""
    try:
        settings = KeelSettings()
    except pydantic.ValidationError as error:
        problems = [
            f"KEEL_{'_'.join(str(part) for part in problem['loc']).upper()}: {problem['msg']}"
            for problem in error.errors()
        ]
        raise InvalidSettings("invalid settings: " + "; ".join(problems)) from None
    directory = workspace.get()
    return settings if directory is None else workspace_settings(directory, settings)


def database_label(settings: KeelSettings) -> str:
    return redacted(normalize_database_url(settings.database_url.get_secret_value()))


def run_request(call: Callable[[Container], Awaitable[T]], *, needs_schema: bool = True) -> T:
    """Run `call` on a fresh container; with `needs_schema`, only on a migrated database.

    A database that is missing or behind raises `DatabaseNotReady`, saying what to run.
    """
    return asyncio.run(_run_request(load_settings(), call, needs_schema))


async def _run_request(
    settings: KeelSettings, call: Callable[[Container], Awaitable[T]], needs_schema: bool
) -> T:
    directory = workspace.get()
    if directory is not None:
        with translated_database_errors():
            async with Workspaces(settings) as workspaces:
                return await call(await workspaces.open(directory))
    missing = missing_sqlite_file(settings) if needs_schema else None
    if missing is not None:
        raise DatabaseNotReady(f"database file {missing} does not exist: run `keel db upgrade`")
    with translated_database_errors():
        async with running(build_container(settings)) as container:
            if needs_schema:
                await _ensure_migrated(container, settings)
            return await call(container)


async def _ensure_migrated(container: Container, settings: KeelSettings) -> None:
    status = await migrations.schema_status(container.engine())
    if not status.up_to_date:
        raise DatabaseNotReady(
            f"database {database_label(settings)} is at revision {status.current or 'none'}, "
            f"Keel needs {status.head}: run `keel db upgrade`"
        )
