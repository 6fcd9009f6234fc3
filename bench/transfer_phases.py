"""Where a transfer's time goes: Keel's use case timed phase by phase, one call at a time.

Each phase is timed by wrapping the method that runs it, so the phases nest (the wait for the
database sits inside the phase that waits) and the wrapping itself adds a little to every
figure. The waits are the hops to aiosqlite's thread on SQLite and the round trips of asyncpg
on PostgreSQL; the rest is Python. The raw driver's transfer is timed alongside, as in
`transfers.py`, and so is the CPU time of the process.

    .venv/bin/python bench/transfer_phases.py [--backends sqlite,postgres] [--transfers N]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import functools
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiosqlite
import asyncpg

from application.ports.repositories import TrackingRepository
from application.ports.unit_of_work import AbstractUnitOfWork
from application.use_cases import TransferCredits
from bench.common import Environment, environment, markdown_table
from bench.transfers import RUNNERS, drive, plan, seeded_wallets
from domain.wallets import Wallet
from infrastructure.database.channel import StatementChannel
from infrastructure.database.unit_connection import UnitConnection
from infrastructure.database.unit_of_work import SqlAlchemyUnitOfWork

WARMUP = 200

# (class, method, phase): the phases, outermost first.
PHASES: list[tuple[type, str, str]] = [
    (TransferCredits, "__call__", "the use case, whole"),
    (AbstractUnitOfWork, "__aenter__", "open the unit"),
    (UnitConnection, "open", "  pool checkout, BEGIN (deferred on SQLite)"),
    (TrackingRepository, "get_for_update", "load and lock both wallets"),
    (StatementChannel, "fetch", "  the SELECT, rows converted"),
    (Wallet, "transfer_to", "domain: the transfer and its ledger entry"),
    (AbstractUnitOfWork, "commit", "commit: events to the outbox, writes, COMMIT"),
    (SqlAlchemyUnitOfWork, "_flush_orm", "  ORM flush check, wallet writes queued"),
    (UnitConnection, "commit", "  the COMMIT (with the writes on SQLite)"),
    (AbstractUnitOfWork, "__aexit__", "close the unit"),
    (aiosqlite.Connection, "_execute", "waiting on aiosqlite's thread (any hop)"),
    (asyncpg.Connection, "fetch", "waiting on asyncpg: SELECT"),
    (asyncpg.Connection, "fetchrow", "waiting on asyncpg: the writes"),
]


class PhaseClock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.on = False

    @contextmanager
    def installed(self) -> Iterator[None]:
        originals = [(owner, name, getattr(owner, name)) for owner, name, _ in PHASES]
        for (owner, name, phase), (_, _, original) in zip(PHASES, originals, strict=True):
            setattr(owner, name, self._timed(original, phase))
        try:
            yield
        finally:
            for owner, name, original in originals:
                setattr(owner, name, original)

    def _timed(self, original: Callable[..., Any], phase: str) -> Callable[..., Any]:
        if asyncio.iscoroutinefunction(original):

            @functools.wraps(original)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    self._add(phase, started)

            return timed_async

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._add(phase, started)

        return timed

    def _add(self, phase: str, started: float) -> None:
        if self.on:
            self.seconds[phase] += time.perf_counter() - started
            self.calls[phase] += 1


async def timed_run(
    env: Environment, backend: str, implementation: str, count: int, clock: PhaseClock | None
) -> tuple[float, float]:
    """Wall and process CPU seconds per transfer."""
    async with env.fresh_database(backend) as database:
        accounts = await seeded_wallets(database)
        transfers = plan([account.wallet_id for account in accounts], WARMUP + count, seed=7)
        async with RUNNERS[implementation](database, 1) as runner:
            await drive(runner.workers, transfers[:WARMUP])
            cpu = time.process_time()
            if clock is not None:
                clock.on = True
            run = await drive(runner.workers, transfers[WARMUP:])
            if clock is not None:
                clock.on = False
            return run.seconds / count, (time.process_time() - cpu) / count


async def measure(env: Environment, backend: str, count: int) -> str:
    raw_wall, raw_cpu = await timed_run(env, backend, "raw", count, None)
    keel_wall, keel_cpu = await timed_run(env, backend, "keel", count, None)
    clock = PhaseClock()
    with clock.installed():
        timed_wall, _ = await timed_run(env, backend, "keel", count, clock)
    rows: list[list[object]] = [
        ["raw driver, whole transfer", f"{raw_wall * 1e6:.0f}", "1.00"],
        ["Keel, whole transfer", f"{keel_wall * 1e6:.0f}", "1.00"],
        ["process CPU: raw / Keel", f"{raw_cpu * 1e6:.0f} / {keel_cpu * 1e6:.0f}", ""],
        ["Keel with its phases timed", f"{timed_wall * 1e6:.0f}", ""],
    ]
    rows += [
        [phase, f"{clock.seconds[phase] / count * 1e6:.0f}", f"{clock.calls[phase] / count:.2f}"]
        for _, _, phase in PHASES
        if clock.calls[phase]
    ]
    ratio = raw_wall / keel_wall
    title = f"### {backend}: Keel ÷ raw throughput {ratio:.2f}, one call at a time\n\n"
    return title + markdown_table(["phase", "µs per transfer", "calls per transfer"], rows)


async def run(env: Environment, backends: list[str], count: int) -> None:
    for backend in backends:
        print(await measure(env, backend, count), end="\n\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--transfers", type=int, default=3000)
    arguments = parser.parse_args()
    backends = arguments.backends.split(",")
    with environment(backends) as env:
        asyncio.run(run(env, backends, arguments.transfers))


if __name__ == "__main__":
    main()
