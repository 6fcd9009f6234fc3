"""Errors of the application layer that are not domain rules."""

from domain.errors import Conflict


class RetryableError(Exception):
    """The unit failed for a transient reason (lock timeout, serialization failure, busy database).

    Nothing of it was applied; running the whole unit again may succeed.
    """


class DatabaseUnavailable(Exception):
    """The database could not be reached, opened or used; nothing was applied."""


class ReadOnlyUnitError(Exception):
    """A read-only unit of work was asked to commit a change."""


class BatchItemRefused(Exception):
    """One item of an all-or-nothing batch was refused, so the whole batch was."""

    def __init__(self, index: int, cause: Exception) -> None:
        super().__init__(f"item {index + 1}: {cause}")
        self.index = index
        self.cause = cause


class InvalidApiToken(Exception):
    """An API token that belongs to no active user; the message never repeats the token."""


class IdempotencyKeyReused(Conflict):
    """An idempotency key came back with a different command than the one it was first used for."""

    def __init__(self, key: str, operation: str) -> None:
        super().__init__(
            f"the idempotency key {key!r} was already used for a different {operation} command"
        )
        self.key = key
