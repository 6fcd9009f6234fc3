"""Errors of the application layer that are not domain rules."""


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
