"""A health check of the database: reachable, migrated, and what the pool is doing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from application.errors import DatabaseUnavailable, RetryableError
from infrastructure.database import migrations
from infrastructure.database.engine import redacted
from infrastructure.database.errors import translated_database_errors


@dataclass(frozen=True)
class PoolStatus:
    size: int
    checked_in: int
    checked_out: int
    overflow: int


@dataclass(frozen=True)
class HealthReport:
    database: str
    reachable: bool
    revision: str | None
    head: str | None
    pool: PoolStatus | None
    problem: str | None = None

    @property
    def healthy(self) -> bool:
        return self.reachable and self.revision == self.head


async def check_health(engine: AsyncEngine) -> HealthReport:
    """Run a trivial query on a pooled connection and compare the schema with the newest."""
    database = redacted(engine.url)
    head = migrations.head_revision()
    try:
        with translated_database_errors():
            async with engine.connect() as connection:
                await connection.scalar(text("SELECT 1"))
            status = await migrations.schema_status(engine)
    except (DatabaseUnavailable, RetryableError) as error:
        return HealthReport(database, False, None, head, pool_status(engine), str(error))
    problem = None if status.up_to_date else f"at revision {status.current}, head is {head}"
    return HealthReport(database, True, status.current, head, pool_status(engine), problem)


def pool_status(engine: AsyncEngine) -> PoolStatus | None:
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return None
    return PoolStatus(
        size=pool.size(),
        checked_in=pool.checkedin(),
        checked_out=pool.checkedout(),
        overflow=max(pool.overflow(), 0),
    )
