"""Alembic environment: runs on a connection handed over by Keel, or on an engine of its own."""

import asyncio
import logging.config

from alembic import context
from sqlalchemy import Connection

from infrastructure.database.engine import create_engine
from infrastructure.database.records import Record
from infrastructure.settings import KeelSettings

config = context.config
if config.config_file_name is not None and config.attributes.get("connection") is None:
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Record.metadata,
        render_as_batch=True,  # SQLite alters a table by copying it
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_on_own_engine() -> None:
    engine = create_engine(KeelSettings())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


shared_connection = config.attributes.get("connection")
if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them against a database")
elif shared_connection is not None:
    run_migrations(shared_connection)
else:
    asyncio.run(run_on_own_engine())
