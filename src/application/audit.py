"""The audit trail: one record when an operation starts, and one when it succeeds or fails."""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, Generic, ParamSpec, TypeVar, cast
from uuid import UUID, uuid4

from domain.errors import InvalidValue
from domain.events import Aggregate

logger = logging.getLogger("keel.audit")
correlation_id: ContextVar[str | None] = ContextVar("keel_correlation_id", default=None)
"""Ties together everything one request or command did; set by the entry point, or by the
first audited operation when none is set."""

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R")


@asynccontextmanager
async def audited(operation: str, ids: Iterable[str]) -> AsyncIterator[None]:
    """Record the start of `operation`, then its success or its failure, with its duration."""
    if not logger.isEnabledFor(logging.INFO):
        yield
        return
    token = None if correlation_id.get() else correlation_id.set(uuid4().hex)
    fields: dict[str, Any] = {
        "operation": operation,
        "ids": sorted(set(ids)),
        "correlation_id": correlation_id.get(),
    }
    logger.info("%s started", operation, extra={"audit": {**fields, "outcome": "started"}})
    started = time.perf_counter()
    try:
        yield
    except Exception as error:
        duration = round((time.perf_counter() - started) * 1000, 3)
        failure = {**fields, "outcome": "failed", "duration_ms": duration, "error": describe(error)}
        logger.warning("%s failed", operation, extra={"audit": failure})
        raise
    else:
        duration = round((time.perf_counter() - started) * 1000, 3)
        success = {**fields, "outcome": "succeeded", "duration_ms": duration}
        logger.info("%s succeeded", operation, extra={"audit": success})
    finally:
        if token is not None:
            correlation_id.reset(token)


def describe(error: Exception) -> str:
    """The error for the trail: its kind, and its message unless that may echo personal input."""
    if isinstance(error, InvalidValue):
        return type(error).__name__
    return f"{type(error).__name__}: {error}"


def ids_in(values: Iterable[Any]) -> list[str]:
    """The ids among call arguments: UUIDs, aggregates, and collections or models of them."""
    found: list[str] = []
    for value in values:
        if isinstance(value, UUID):
            found.append(str(value))
        elif isinstance(value, Aggregate):
            found.append(str(value.id))
        elif isinstance(value, Mapping):
            found += ids_in(value.values())
        elif isinstance(value, list | tuple | set | frozenset):
            found += ids_in(value)
        elif hasattr(value, "model_dump"):
            found += ids_in(value.model_dump().values())
    return found


class Audited(Generic[P, T]):
    """A use case whose every call leaves a start record and an outcome record."""

    def __init__(self, use_case: Callable[P, Awaitable[T]], operation: str) -> None:
        self._use_case = use_case
        self._operation = operation

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        # Collecting ids walks the command: skip it on the hot path when nobody records it.
        if not logger.isEnabledFor(logging.INFO):
            return await self._use_case(*args, **kwargs)
        async with audited(self._operation, ids_in([*args, *kwargs.values()])):
            return await self._use_case(*args, **kwargs)


def audit_repository(repository: R, name: str) -> R:
    """`repository`, with each of its public coroutine methods audited as `name.method`."""
    return cast(R, _AuditedRepository(repository, name))


class _AuditedRepository:
    def __init__(self, target: Any, name: str) -> None:
        self._target = target
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._target, attribute)
        if attribute.startswith("_") or not inspect.iscoroutinefunction(value):
            return value

        @functools.wraps(value)
        async def audited_call(*args: Any, **kwargs: Any) -> Any:
            async with audited(f"{self._name}.{attribute}", ids_in([*args, *kwargs.values()])):
                return await value(*args, **kwargs)

        return audited_call
