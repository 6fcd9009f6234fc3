"""How the CLI turns a refused request into one line on stderr and an exit status."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

import click
import pydantic

from application.errors import (
    BatchItemRefused,
    DatabaseUnavailable,
    ReadOnlyUnitError,
    RetryableError,
)
from domain.errors import DomainError
from entrypoints.event_handlers import HandlerLoadingError
from infrastructure.database.backup import BackupMissing
from infrastructure.database.engine import DatabaseUrlError
from infrastructure.database.migrations import MigrationError

P = ParamSpec("P")
R = TypeVar("R")

EXIT_REFUSED = 1
EXIT_DATABASE_NOT_READY = 3
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE
EXIT_BAD_CONFIGURATION = 78  # EX_CONFIG
EXIT_TRY_AGAIN = 75  # EX_TEMPFAIL


class DatabaseNotReady(Exception):
    """The database is missing or not migrated to the schema this Keel needs."""


class InvalidSettings(Exception):
    """A `KEEL_*` environment variable holds a value Keel cannot use."""


class InvalidFile(Exception):
    """An input file that cannot be used as it is; the message names the line."""


def validation_problems(error: pydantic.ValidationError) -> str:
    """`field: reason` for each problem, joined on one line."""
    problems = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "input"
        message = problem["msg"].removeprefix("Value error, ")
        problems.append(f"{field}: {message}")
    return "; ".join(problems)


def describe_validation_error(error: pydantic.ValidationError) -> str:
    return "invalid input: " + validation_problems(error)


def reported_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Report known failures as `error: ...` on stderr with a distinct exit status."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except pydantic.ValidationError as error:
            fail(describe_validation_error(error), EXIT_REFUSED)
        except (
            DomainError,
            BatchItemRefused,
            InvalidFile,
            ReadOnlyUnitError,
            MigrationError,
            BackupMissing,
        ) as error:
            fail(str(error), EXIT_REFUSED)
        except (InvalidSettings, DatabaseUrlError, HandlerLoadingError) as error:
            fail(str(error), EXIT_BAD_CONFIGURATION)
        except DatabaseUnavailable as error:
            fail(f"{error}; nothing was applied", EXIT_UNAVAILABLE)
        except DatabaseNotReady as error:
            fail(str(error), EXIT_DATABASE_NOT_READY)
        except RetryableError as error:
            fail(f"{error}; nothing was applied, try again", EXIT_TRY_AGAIN)

    return run


def fail(message: str, status: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(status)
