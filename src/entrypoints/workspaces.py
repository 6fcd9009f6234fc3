"""Workspaces: one SQLite database per directory, each with a container of its own."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

from pydantic import SecretStr

from entrypoints.container import Container, build_container, running
from infrastructure.database import migrations
from infrastructure.settings import KeelSettings

DATABASE_IN_WORKSPACE = Path(".keel") / "keel.db"


def workspace_settings(directory: Path, base: KeelSettings | None = None) -> KeelSettings:
    """`base` (or the environment's settings) pointed at the workspace's own database."""
    database = directory.resolve() / DATABASE_IN_WORKSPACE
    url = SecretStr(f"sqlite:///{database}")
    return (base or KeelSettings()).model_copy(update={"database_url": url})


def _prepare(directory: Path) -> Path:
    """The workspace's absolute path, with the folder for its database in place."""
    key = directory.resolve()
    (key / DATABASE_IN_WORKSPACE).parent.mkdir(parents=True, exist_ok=True)
    return key


class Workspaces:
    """Opens each workspace once: creates its database, migrates it on first use, and
    disposes of every engine on `close`. Two workspaces never share a database."""

    def __init__(self, base: KeelSettings | None = None) -> None:
        self._base = base
        self._open: dict[Path, Container] = {}
        self._resources = AsyncExitStack()

    async def open(self, directory: Path) -> Container:
        key = await asyncio.to_thread(_prepare, directory)
        if key not in self._open:
            container = build_container(workspace_settings(key, self._base))
            await self._resources.enter_async_context(running(container))
            await migrations.upgrade_with_backup(container.engine())
            self._open[key] = container
        return self._open[key]

    async def close(self) -> None:
        await self._resources.aclose()
        self._open.clear()

    async def __aenter__(self) -> Workspaces:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()
