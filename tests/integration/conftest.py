from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from entrypoints.container import Container, build_container, running
from infrastructure.database import migrations
from tests.conftest import sqlite_settings


@pytest.fixture
async def container(database_path: Path) -> AsyncIterator[Container]:
    """Keel's own container on a migrated SQLite file, as a host would run it."""
    async with running(build_container(sqlite_settings(database_path))) as started:
        await migrations.upgrade(started.engine())
        yield started
