"""Idempotency keys: a writing use case applies a keyed command once, however often it is sent."""

from __future__ import annotations

import functools
import hashlib
import typing
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter

from application.errors import IdempotencyKeyReused
from application.ports.idempotency import StoredOutcome
from application.ports.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory
from domain.errors import InvalidValue
from domain.events import utc_now

R = TypeVar("R")

MAX_KEY_LENGTH = 200

UseCaseType = Callable[[UnitOfWorkFactory], Callable[..., Awaitable[R]]]


class Idempotent(Generic[R]):
    """A writing use case that, given an `idempotency_key`, applies its command at most once.

    The key, a fingerprint of the command and the result are stored in the same transaction
    as the effects: a repeat with the same key returns the stored result and applies
    nothing, even when the first run's commit succeeded but its caller never heard so.
    The same key with another command is an `IdempotencyKeyReused`.
    """

    def __init__(
        self, use_case_type: UseCaseType[R], uow_factory: UnitOfWorkFactory, operation: str
    ) -> None:
        self._use_case_type = use_case_type
        self._uow_factory = uow_factory
        self._operation = operation
        self._unkeyed = use_case_type(uow_factory)
        # Made once per use case class: the container makes an `Idempotent` for every call.
        self._results: TypeAdapter[R] = _result_adapter(type(self._unkeyed).__call__)
        # Reads whatever attributes the use case declares, such as `safe_to_rerun`.
        self.safe_to_rerun: bool = getattr(self._unkeyed, "safe_to_rerun", False)

    async def __call__(
        self, command: BaseModel, *, idempotency_key: str | None = None, **options: Any
    ) -> R:
        """`options` go to the use case as they are, such as a progress callback."""
        if idempotency_key is None:
            return await self._unkeyed(command, **options)
        key = checked_key(idempotency_key)
        fingerprint = fingerprint_of(self._operation, command)
        async with self._uow_factory() as uow:
            stored = await uow.idempotency.get(key)
            if stored is not None:
                if stored.fingerprint != fingerprint:
                    raise IdempotencyKeyReused(key, stored.operation)
                return self._results.validate_json(stored.result)
            # The use case enters the same unit again: a savepoint inside this transaction.
            result = await self._use_case_type(_the_unit(uow))(command, **options)
            outcome = StoredOutcome(
                key=key,
                operation=self._operation,
                fingerprint=fingerprint,
                result=self._results.dump_json(result).decode(),
                created_at=utc_now(),
            )
            await uow.idempotency.add(outcome)
            await uow.commit()
        return result


@functools.cache
def _result_adapter(call: Callable[..., Any]) -> TypeAdapter[Any]:
    """How the results of a use case's `call` are stored and read back."""
    return TypeAdapter(typing.get_type_hints(call)["return"])


def checked_key(raw: str) -> str:
    if not 1 <= len(raw) <= MAX_KEY_LENGTH or not raw.isprintable() or raw != raw.strip():
        raise InvalidValue(
            f"an idempotency key is 1 to {MAX_KEY_LENGTH} printable characters "
            "without surrounding spaces"
        )
    return raw


def fingerprint_of(operation: str, command: BaseModel) -> str:
    canonical = f"{operation}\n{command.model_dump_json()}"
    return hashlib.sha256(canonical.encode()).hexdigest()


def _the_unit(uow: AbstractUnitOfWork) -> UnitOfWorkFactory:
    def factory(*, read_only: bool = False) -> AbstractUnitOfWork:
        return uow

    return factory
