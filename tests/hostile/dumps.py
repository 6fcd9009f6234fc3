"""Full logical dumps of a database, read past Keel on a fresh connection, to compare whole."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import asyncpg

Dump = list[Any]

_TABLES_AND_KEYS = """
SELECT t.tablename,
       coalesce(
           (SELECT array_agg(a.attname::text ORDER BY k.position)
              FROM pg_index i
              CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indrelid = format('%I.%I', t.schemaname, t.tablename)::regclass
               AND i.indisprimary),
           '{}') AS key_columns
  FROM pg_tables t
 WHERE t.schemaname = 'public'
 ORDER BY t.tablename
"""


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def sqlite_dump(path: Path) -> Dump:
    """Schema and every row, as SQL text; read-only, so dumping changes nothing."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        return list(connection.iterdump())


async def postgres_dump(connection: asyncpg.Connection) -> Dump:
    """Every row of every table in the public schema, ordered by primary key, in one snapshot."""
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        dump: Dump = []
        for table, key_columns in await connection.fetch(_TABLES_AND_KEYS):
            # Names come from the catalog, quoted; a table without a key is sorted here.
            order = ", ".join(f'"{column}"' for column in key_columns) or "1"
            rows = await connection.fetch(f'SELECT * FROM "{table}" ORDER BY {order}')
            values = [tuple(row.values()) for row in rows]
            dump.append((table, values if key_columns else sorted(values, key=repr)))
        return dump


@asynccontextmanager
async def dumping(url: str) -> AsyncIterator[Callable[[], Awaitable[Dump]]]:
    """A function that dumps the database at `url`, on a connection of its own, not Keel's.

    On PostgreSQL the connection is kept, each dump a transaction of its own that sees what
    was committed when it began; a SQLite file is read on a fresh connection every time.
    """
    if url.startswith("sqlite"):

        async def dump_sqlite() -> Dump:
            return sqlite_dump(sqlite_path(url))

        yield dump_sqlite
        return
    connection = await asyncpg.connect(url)
    try:
        yield lambda: postgres_dump(connection)
    finally:
        await connection.close()


def first_difference(before: Dump, after: Dump) -> str:
    """Where two dumps part, for a failure message that shows what was written."""
    for index, (old, new) in enumerate(zip(before, after, strict=False)):
        if old != new:
            return f"item {index}: {old!r} became {new!r}"
    return f"{len(before)} items became {len(after)}"
