"""Consistent copies of a SQLite database, taken and put back with SQLite's online backup."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import URL


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for other backends."""
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database)


async def back_up(database: Path, backup: Path) -> None:
    """Write a consistent copy of `database` to `backup`, even while others use it.

    A file copy of a live WAL database can miss committed pages still in the -wal file;
    the backup API reads through SQLite and copies exactly one committed state.
    """
    await asyncio.to_thread(_copy, database, backup)


async def restore(backup: Path, database: Path) -> None:
    """Put the state saved in `backup` back into `database`, page by page."""
    await asyncio.to_thread(_copy, backup, database)


class BackupMissing(Exception):
    """There is no database file to copy from."""


def _copy(source: Path, target: Path) -> None:
    # Connecting to a missing file would create an empty database and copy that.
    if not source.is_file():
        raise BackupMissing(f"there is no database file at {source}")
    with closing(sqlite3.connect(source)) as reader, closing(sqlite3.connect(target)) as writer:
        reader.backup(writer)
