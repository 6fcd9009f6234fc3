"""The one retry runner: run a whole unit of work again after a transient failure."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, ParamSpec, TypeVar

from application.errors import RetryableError
from domain.errors import ConcurrencyConflict

T = TypeVar("T")
P = ParamSpec("P")

logger = logging.getLogger("keel.retry")


def doubled(first: float, times: int, limit: float) -> float:
    """`first` doubled `times` times, and no more than `limit`: an exponential backoff."""
    return min(limit, first * 2.0**times)


@dataclass(frozen=True)
class RetryPolicy:
    """At most `max_attempts` runs, waiting a random time up to an exponentially growing cap."""

    max_attempts: int = 5
    first_delay_seconds: float = 0.005
    max_delay_seconds: float = 0.25

    def delay_before(self, attempt: int, draw: Callable[[], float] = random.random) -> float:
        """Full jitter: spreads out the units that collided, so they do not collide again."""
        return doubled(self.first_delay_seconds, attempt - 2, self.max_delay_seconds) * draw()


@dataclass
class RetryCounter:
    """How many units were run again, and how many still failed when the attempts ran out."""

    retries: int = 0
    exhausted: int = 0


class RetryRunner:
    """Runs a unit; on `RetryableError` runs all of it again. Any other error passes at once.

    A `ConcurrencyConflict` (another unit changed what this one read) is retried only for
    units that are safe to re-run: those that read everything they decide on afresh.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        counter: RetryCounter,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.policy = policy
        self.counter = counter
        self._sleep = sleep

    async def run(self, unit: Callable[[], Awaitable[T]], *, safe_to_rerun: bool = False) -> T:
        retried: tuple[type[Exception], ...] = (RetryableError,)
        if safe_to_rerun:
            retried += (ConcurrencyConflict,)
        attempt = 1
        while True:
            try:
                return await unit()
            except retried as error:
                if attempt >= self.policy.max_attempts:
                    self.counter.exhausted += 1
                    logger.warning("unit failed after %d attempts: %s", attempt, error)
                    raise
                attempt += 1
                self.counter.retries += 1
                logger.info(
                    "retrying unit (attempt %d of %d): %s", attempt, self.policy.max_attempts, error
                )
                await self._sleep(self.policy.delay_before(attempt))


class Retrying(Generic[P, T]):
    """A use case whose every call runs under the retry runner.

    A use case declares itself safe to re-run after a concurrency conflict with a true
    `safe_to_rerun` attribute.
    """

    def __init__(self, use_case: Callable[P, Awaitable[T]], runner: RetryRunner) -> None:
        self._use_case = use_case
        self._runner = runner
        self._safe_to_rerun: bool = getattr(use_case, "safe_to_rerun", False)

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._runner.run(
            lambda: self._use_case(*args, **kwargs), safe_to_rerun=self._safe_to_rerun
        )
