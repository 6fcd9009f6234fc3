"""The one place where database errors become Keel's domain and application errors."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import (
    DatabaseError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.orm.exc import StaleDataError

from application.errors import DatabaseUnavailable, RetryableError
from domain.errors import ConcurrencyConflict, Conflict, NotFound

_CONFLICTS = {
    "uq_users_email": "a user with this email is already registered",
    "uq_users_username": "this username is already taken",
    "uq_wallets_owner_id": "this user already has a wallet",
    # A unique index: PostgreSQL names the index, SQLite the table and column.
    "ix_users_api_token_hash": "this API token is already in use",
    "uq_users_api_token_hash": "this API token is already in use",
    "pk_tasks": "a task with this id already exists",
    "uq_tasks_id": "a task with this id already exists",
}
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (\w+)\.(\w+)")
_RETRYABLE_SQLSTATES = {
    "40001": "serialization failure",
    "40P01": "deadlock detected",
    "55P03": "lock not available",
}
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def translate_database_error(error: BaseException) -> Exception | None:
    """The Keel error that `error` stands for, or None when it is not a database error we know."""
    if isinstance(error, StaleDataError):
        return ConcurrencyConflict("the record was changed by another unit of work; reload it")
    if not isinstance(error, DBAPIError):
        return None
    sqlstate = _sqlstate(error)
    if sqlstate in _RETRYABLE_SQLSTATES:
        return RetryableError(f"the database reported a {_RETRYABLE_SQLSTATES[sqlstate]}")
    message = str(error.orig)
    if any(busy in message for busy in _SQLITE_BUSY):
        return RetryableError(
            "the database stayed locked by another writer beyond the busy timeout"
        )
    if isinstance(error, IntegrityError):
        return _integrity_conflict(error, sqlstate, message)
    # Plain DatabaseError is what SQLite raises for a damaged file or one that is no database.
    if isinstance(error, OperationalError | InterfaceError) or type(error) is DatabaseError:
        return DatabaseUnavailable(f"the database failed: {message}")
    return None


@contextmanager
def translated_database_errors() -> Iterator[None]:
    """Raise Keel's errors for database failures outside a unit of work (connecting, migrating)."""
    try:
        yield
    except (DBAPIError, StaleDataError) as error:
        raise translate_database_error(error) or error from error
    # Not every ConnectionError: a BrokenPipeError on the caller's own output is not ours.
    except (
        ConnectionRefusedError,
        ConnectionResetError,
        ConnectionAbortedError,
        TimeoutError,
        socket.gaierror,
    ) as error:
        raise DatabaseUnavailable(f"cannot reach the database: {error}") from error


def _integrity_conflict(error: IntegrityError, sqlstate: str | None, message: str) -> Exception:
    if sqlstate == "23503" or "FOREIGN KEY constraint failed" in message:
        return NotFound("referenced record", "(foreign key)")
    constraint = _constraint_name(error, message)
    return Conflict(_CONFLICTS.get(constraint or "", "the change conflicts with stored data"))


def _sqlstate(error: DBAPIError) -> str | None:
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return str(sqlstate) if sqlstate else None


def _constraint_name(error: DBAPIError, message: str) -> str | None:
    # asyncpg names the constraint; SQLite names the table and column instead.
    name = getattr(getattr(error.orig, "__cause__", None), "constraint_name", None)
    if name:
        return str(name)
    match = _SQLITE_UNIQUE.search(message)
    return f"uq_{match[1]}_{match[2]}" if match else None
