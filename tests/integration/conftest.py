from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from entrypoints.container import Container, build_container, running
from tests.databases import Databases, settings_for


@pytest.fixture
async def container(sql_backend: str, databases: Databases) -> AsyncIterator[Container]:
    """Keel's own container on a fresh, migrated database of each SQL backend."""
    url = await databases.url(sql_backend)
    async with running(build_container(settings_for(url))) as started:
        yield started
