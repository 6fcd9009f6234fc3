"""Killing a process in the middle of transfers never leaves the books half-written.

A worker process (transfer_worker.py) transfers credits between a fixed set of wallets through
Keel's container and acknowledges each transfer in a log, fsynced, only after the use case
returned. The test kills it with SIGKILL at a random moment after it started, round after round
on the same database, so kills land while connecting, inside transactions, during COMMIT and
between a commit and its acknowledgement. After every kill a fresh connection reads the books:
the database is intact, every entry is complete and balanced, every wallet holds exactly what
its postings say and never less than nothing, no credit appeared or vanished, and every
acknowledged transfer is there. At most one transfer per kill may be committed without its
acknowledgement: the one the kill interrupted after its COMMIT.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from application.use_cases import DepositCreditsCommand, OpenWalletCommand, RegisterUserCommand
from entrypoints.container import build_container, running
from tests.crash import transfer_worker
from tests.crash.books import (
    Books,
    acknowledgement_problems,
    broken_invariants,
    postgres_books,
    read_acknowledged,
    sqlite_books,
    sqlite_health,
    transfer_entries,
    wait_for_other_connections_to_end,
)
from tests.databases import Databases, in_ci, settings_for

WORKER = Path(transfer_worker.__file__)
WALLETS = 4
OPENING_BALANCE = Decimal("200.00")
KILL_ROUNDS = 40 if in_ci() else 10
# Kills land from the first statement to many transfers in; a transfer takes milliseconds.
LONGEST_LIFE_SECONDS = 0.4
# Generous: the machine may be busy with other test runs when the worker starts.
STARTUP_TIMEOUT_SECONDS = 60


@dataclass
class Tally:
    """What the rounds did, to show that the kills landed on real work."""

    rounds: int = 0
    acknowledged: int = 0
    committed_unacknowledged: int = 0
    lives: list[float] = field(default_factory=list)

    def record(self, life: float, *, acknowledged: int, unacknowledged: int) -> None:
        self.rounds += 1
        self.lives.append(life)
        self.acknowledged = acknowledged
        self.committed_unacknowledged = unacknowledged

    def summary(self, backend: str) -> str:
        return (
            f"{backend}: {self.rounds} kill rounds, {self.acknowledged} acknowledged transfers,"
            f" {self.committed_unacknowledged} committed but killed before acknowledging,"
            f" worker lives {min(self.lives):.3f}-{max(self.lives):.3f}s after start"
        )


async def open_funded_wallets(url: str) -> list[UUID]:
    """Users with wallets holding OPENING_BALANCE each, made through Keel's use cases."""
    async with running(build_container(settings_for(url))) as keel:
        wallet_ids = []
        for number in range(WALLETS):
            user = await keel.register_user()(
                RegisterUserCommand(email=f"crash{number}@example.com", username=f"crash{number}")
            )
            wallet = await keel.open_wallet()(OpenWalletCommand(owner_id=user.id))
            await keel.deposit_credits()(
                DepositCreditsCommand.model_validate(
                    {"wallet_id": wallet.id, "amount": OPENING_BALANCE}
                )
            )
            wallet_ids.append(wallet.id)
        return wallet_ids


async def run_and_kill(arguments: list[str], life_seconds: float) -> None:
    """Start a worker, let it live `life_seconds` after it said it started, then SIGKILL it."""
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert worker.stdout is not None
    try:
        started = await asyncio.wait_for(worker.stdout.readline(), STARTUP_TIMEOUT_SECONDS)
        if started.decode().strip() == transfer_worker.STARTED:
            await asyncio.sleep(life_seconds)
    finally:
        with suppress(ProcessLookupError):
            worker.kill()
        _, errors = await worker.communicate()
    assert started.decode().strip() == transfer_worker.STARTED, (
        f"the worker did not start: {errors.decode()}"
    )
    assert worker.returncode == -signal.SIGKILL, (
        f"the worker stopped by itself (status {worker.returncode}): {errors.decode()}"
    )


async def read_books(backend: str, url: str) -> Books:
    if backend == "postgres":
        await wait_for_other_connections_to_end(url)
        return await postgres_books(url)
    path = Path(url.removeprefix("sqlite:///"))
    integrity, journal_mode = sqlite_health(path)
    assert integrity == "ok", f"the SQLite file is damaged after a kill: {integrity}"
    assert journal_mode == "wal", f"the SQLite file left WAL mode: {journal_mode}"
    return sqlite_books(path)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_no_kill_leaves_a_half_applied_transfer(
    backend: str, databases: Databases, tmp_path: Path
) -> None:
    url = await databases.url(backend)
    wallet_ids = await open_funded_wallets(url)
    minted = int(WALLETS * OPENING_BALANCE * 100)
    ack_log = tmp_path / "acknowledged.log"
    rng = random.Random()
    seed = rng.randrange(2**32)
    rng.seed(seed)
    tally = Tally()

    for round_number in range(1, KILL_ROUNDS + 1):
        life = rng.uniform(0, LONGEST_LIFE_SECONDS)
        arguments = [url, str(ack_log), str(rng.randrange(2**32)), *map(str, wallet_ids)]
        await run_and_kill(arguments, life)

        books = await read_books(backend, url)
        acknowledged = read_acknowledged(ack_log)
        where = f"after kill {round_number} ({life:.3f}s in, seed {seed})"
        problems = broken_invariants(books, minted) + acknowledgement_problems(books, acknowledged)
        assert not problems, f"{where}:\n" + "\n".join(problems)
        unacknowledged = len(transfer_entries(books) - set(acknowledged))
        assert unacknowledged <= round_number, (
            f"{where}: {unacknowledged} transfers committed without acknowledgement;"
            " each kill can interrupt at most one between its COMMIT and its acknowledgement"
        )
        tally.record(life, acknowledged=len(acknowledged), unacknowledged=unacknowledged)

    summary = tally.summary(backend)
    print(summary)
    assert tally.rounds == KILL_ROUNDS, summary
    # Without acknowledged transfers the kills would have proved nothing about them.
    assert tally.acknowledged > 0, f"no transfer was ever acknowledged: {summary}"
