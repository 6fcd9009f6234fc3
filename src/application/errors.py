"""Errors of the application layer that are not domain rules."""


class RetryableError(Exception):
    """The unit failed for a transient reason (lock timeout, serialization failure, busy database).

    Nothing of it was applied; running the whole unit again may succeed.
    """


class DatabaseUnavailable(Exception):
    """The database could not be reached, opened or used; nothing was applied."""


class ReadOnlyUnitError(Exception):
    """A read-only unit of work was asked to commit a change."""
