"""The retry runner re-runs whole units after transient failures, and nothing else."""

from __future__ import annotations

import logging

import pytest

from application.errors import RetryableError
from application.retry import RetryCounter, Retrying, RetryPolicy, RetryRunner
from domain.errors import InsufficientFunds


class FlakyUnit:
    """Fails with `error` the first `failures` times it runs, then returns how often it ran."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.runs = 0

    async def __call__(self) -> int:
        self.runs += 1
        if self.runs <= self.failures:
            raise self.error
        return self.runs


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def runner(waits: list[float]) -> RetryRunner:
    async def record(seconds: float) -> None:
        waits.append(seconds)

    return RetryRunner(RetryPolicy(max_attempts=4), RetryCounter(), sleep=record)


async def test_a_transient_failure_runs_the_whole_unit_again(
    runner: RetryRunner, waits: list[float]
) -> None:
    unit = FlakyUnit(failures=2, error=RetryableError("deadlock detected"))
    assert await runner.run(unit) == 3
    assert runner.counter == RetryCounter(retries=2, exhausted=0)
    assert len(waits) == 2


async def test_the_runner_gives_up_after_the_last_attempt(runner: RetryRunner) -> None:
    unit = FlakyUnit(failures=10, error=RetryableError("serialization failure"))
    with pytest.raises(RetryableError, match="serialization failure"):
        await runner.run(unit)
    assert unit.runs == 4
    assert runner.counter == RetryCounter(retries=3, exhausted=1)


async def test_any_other_error_passes_at_once(runner: RetryRunner, waits: list[float]) -> None:
    unit = FlakyUnit(failures=1, error=InsufficientFunds("no"))
    with pytest.raises(InsufficientFunds):
        await runner.run(unit)
    assert (unit.runs, waits, runner.counter.retries) == (1, [], 0)


async def test_retries_are_logged(runner: RetryRunner, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="keel.retry"):
        await runner.run(FlakyUnit(failures=1, error=RetryableError("database is locked")))
    assert "retrying unit (attempt 2 of 4): database is locked" in caplog.messages


def test_waits_are_jittered_below_a_cap_that_doubles_up_to_the_maximum() -> None:
    policy = RetryPolicy(max_attempts=10, first_delay_seconds=0.01, max_delay_seconds=0.05)
    caps = [policy.delay_before(attempt, draw=lambda: 1.0) for attempt in range(2, 7)]
    assert caps == pytest.approx([0.01, 0.02, 0.04, 0.05, 0.05])
    assert policy.delay_before(3, draw=lambda: 0.5) == pytest.approx(0.01)


async def test_a_retrying_use_case_passes_its_command_on_every_run(runner: RetryRunner) -> None:
    seen: list[str] = []

    async def use_case(command: str) -> str:
        seen.append(command)
        if len(seen) == 1:
            raise RetryableError("lock not available")
        return command.upper()

    assert await Retrying(use_case, runner)("transfer") == "TRANSFER"
    assert seen == ["transfer", "transfer"]
