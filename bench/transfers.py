"""The hot path: concurrent transfers between wallets, Keel against raw drivers and a naive ORM.

Each implementation runs the same plan of transfers (the same wallets by position, the same
amounts, in the same order) on a database of its own, freshly migrated and seeded alike, with one
connection per concurrent worker. Afterwards the books are checked with plain SQL; a run that
broke them fails the benchmark.

    .venv/bin/python bench/transfers.py [--quick] [--backends sqlite,postgres]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import aiosqlite
import asyncpg
from sqlalchemy.ext.asyncio import async_sessionmaker

from application.use_cases import TransferCreditsCommand
from bench.common import (
    FULL,
    QUICK,
    Account,
    Database,
    Environment,
    Scale,
    StatementCounter,
    analyze,
    check_books,
    connect_sqlite,
    environment,
    fixed,
    keel_environment,
    latency_figures,
    markdown_table,
    minor_to_credits,
    note,
    pool_settings,
    seed_wallets,
    sqlite_timestamp,
    utc_now,
)
from domain.credits import Credits
from domain.errors import InsufficientFunds
from domain.ledger import wallet_account
from entrypoints.container import build_container, running
from infrastructure.database.engine import create_engine
from infrastructure.database.records import LedgerEntryRecord, PostingRecord, WalletRecord
from infrastructure.settings import KeelSettings

WALLETS = 100
OPENING_BALANCE_MINOR = 100_000_000  # 1,000,000.00 credits: ordinary transfers never run dry
MAX_AMOUNT_MINOR = 10_000
IMPOSSIBLE_EVERY = 100
"""One planned transfer in this many asks for more than exists, so that every implementation
must refuse it: the refusal path is exercised and its count checked."""
IMPOSSIBLE_AMOUNT_MINOR = WALLETS * OPENING_BALANCE_MINOR + 1
IMPLEMENTATIONS = ("keel", "raw", "orm")

# Statements per transfer of the raw implementations, by construction (see raw_sqlite and
# raw_postgres): BEGIN, SELECT, UPDATE, UPDATE, INSERT entry, INSERT postings, COMMIT; a
# refused transfer is BEGIN, SELECT, ROLLBACK.
RAW_APPLIED_STATEMENTS = 7
RAW_REFUSED_STATEMENTS = 3


@dataclass(frozen=True, slots=True)
class Transfer:
    source: UUID
    target: UUID
    amount_minor: int


TransferFunction = Callable[[Transfer], Awaitable[bool]]
"""Makes one transfer in its own transaction; False when it was refused for lack of funds."""


@dataclass
class Runner:
    workers: list[TransferFunction]
    """One function per concurrent worker."""
    counter: StatementCounter | None
    """Counts Keel's and the ORM's statements; None where they are known by construction."""


def plan(wallet_ids: Sequence[UUID], count: int, seed: int) -> list[Transfer]:
    """Transfers between the wallets at the same positions, with the same amounts and in the
    same order, for every implementation that gets the same seed."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible plan, not secrets
    transfers = []
    for number in range(count):
        source, target = rng.sample(list(wallet_ids), 2)
        impossible = number % IMPOSSIBLE_EVERY == IMPOSSIBLE_EVERY - 1
        amount = IMPOSSIBLE_AMOUNT_MINOR if impossible else rng.randint(1, MAX_AMOUNT_MINOR)
        transfers.append(Transfer(source, target, amount))
    return transfers


@asynccontextmanager
async def keel(database: Database, concurrency: int) -> AsyncIterator[Runner]:
    """Keel's public use case through the container, configured by KEEL_* variables."""
    with keel_environment(database, **pool_settings(concurrency)):
        container = build_container()
        async with running(container):

            async def transfer(planned: Transfer) -> bool:
                command = TransferCreditsCommand(
                    source_wallet_id=planned.source,
                    target_wallet_id=planned.target,
                    amount=Credits.from_minor_units(planned.amount_minor),
                )
                try:
                    await container.transfer_credits()(command)
                except InsufficientFunds:
                    return False
                return True

            yield Runner([transfer] * concurrency, StatementCounter(container.engine()))


@asynccontextmanager
async def orm(database: Database, concurrency: int) -> AsyncIterator[Runner]:
    """Plain async SQLAlchemy ORM on Keel's records, on an engine made by Keel's factory (so
    SQLite begins IMMEDIATE as Keel's units do)."""
    with keel_environment(database, **pool_settings(concurrency)):
        settings = KeelSettings()
    engine = create_engine(settings)
    sessions = async_sessionmaker(engine)

    async def transfer(planned: Transfer) -> bool:
        amount = minor_to_credits(planned.amount_minor)
        async with sessions() as session:
            wallets: dict[UUID, WalletRecord] = {}
            # Locked in ascending id order, so that two transfers over the same wallets queue
            # instead of deadlocking.
            for wallet_id in sorted((planned.source, planned.target)):
                wallet = await session.get(WalletRecord, wallet_id, with_for_update=True)
                if wallet is None:
                    raise LookupError(f"wallet {wallet_id} was not found")
                wallets[wallet_id] = wallet
            source, target = wallets[planned.source], wallets[planned.target]
            if source.balance < amount:
                await session.rollback()
                return False
            now = utc_now()
            source.balance -= amount
            target.balance += amount
            for wallet in (source, target):
                wallet.version += 1  # the records' version column is set by the application
                wallet.updated_at = now
            entry_id = uuid4()
            session.add(LedgerEntryRecord(id=entry_id, kind="transfer", created_at=now))
            session.add_all(
                [
                    PostingRecord(
                        entry_id=entry_id, account=wallet_account(source.id), delta=-amount
                    ),
                    PostingRecord(
                        entry_id=entry_id, account=wallet_account(target.id), delta=amount
                    ),
                ]
            )
            await session.commit()
            return True

    try:
        yield Runner([transfer] * concurrency, StatementCounter(engine))
    finally:
        await engine.dispose()


def raw(database: Database, concurrency: int) -> AbstractAsyncContextManager[Runner]:
    return (
        raw_sqlite(database, concurrency)
        if database.backend == "sqlite"
        else raw_postgres(database, concurrency)
    )


@asynccontextmanager
async def raw_sqlite(database: Database, concurrency: int) -> AsyncIterator[Runner]:
    """aiosqlite, one connection per worker, set up with Keel's PRAGMAs and busy timeout."""
    connections = [await connect_sqlite(database) for _ in range(concurrency)]

    def worker(connection: aiosqlite.Connection) -> TransferFunction:
        async def transfer(planned: Transfer) -> bool:
            first, second = sorted((planned.source, planned.target))
            # IMMEDIATE takes the write lock before reading, so no other writer can change
            # the balances between this read and this write.
            await connection.execute("BEGIN IMMEDIATE")
            try:
                rows = await connection.execute_fetchall(
                    "SELECT id, balance FROM wallets WHERE id IN (?, ?) ORDER BY id",
                    (first.hex, second.hex),
                )
                balances = {str(wallet_id): int(balance) for wallet_id, balance in rows}
                source, target = planned.source.hex, planned.target.hex
                if len(balances) != 2:
                    raise LookupError(f"wallets {first} and {second} were not both found")
                if balances[source] < planned.amount_minor:
                    await connection.execute("ROLLBACK")
                    return False
                now = sqlite_timestamp(utc_now())
                update = (
                    "UPDATE wallets SET balance = ?, version = version + 1, updated_at = ? "
                    "WHERE id = ?"
                )
                await connection.execute(
                    update, (balances[source] - planned.amount_minor, now, source)
                )
                await connection.execute(
                    update, (balances[target] + planned.amount_minor, now, target)
                )
                entry_id = uuid4()
                await connection.execute(
                    "INSERT INTO ledger_entries (id, kind, created_at) VALUES (?, 'transfer', ?)",
                    (entry_id.hex, now),
                )
                await connection.execute(
                    "INSERT INTO ledger_postings (entry_id, account, delta) "
                    "VALUES (?, ?, ?), (?, ?, ?)",
                    (
                        entry_id.hex,
                        wallet_account(planned.source),
                        -planned.amount_minor,
                        entry_id.hex,
                        wallet_account(planned.target),
                        planned.amount_minor,
                    ),
                )
                await connection.execute("COMMIT")
                return True
            except BaseException:
                if connection.in_transaction:
                    await connection.execute("ROLLBACK")
                raise

        return transfer

    try:
        yield Runner([worker(connection) for connection in connections], None)
    finally:
        for connection in connections:
            await connection.close()


async def _nothing_to_reset(_connection: Any) -> None:
    """Each transfer ends its own transaction and changes no session state, so the pool's
    default reset query (one more round trip on every release) would have nothing to undo.
    asyncpg still rolls back a transaction left open before calling this."""


@asynccontextmanager
async def raw_postgres(database: Database, concurrency: int) -> AsyncIterator[Runner]:
    """asyncpg, a pool of one connection per worker; rows locked FOR UPDATE in id order."""
    pool = await asyncpg.create_pool(
        database.url, min_size=concurrency, max_size=concurrency, reset=_nothing_to_reset
    )

    async def transfer(planned: Transfer) -> bool:
        first, second = sorted((planned.source, planned.target))
        async with pool.acquire() as connection:
            transaction = connection.transaction()
            await transaction.start()
            try:
                rows = await connection.fetch(
                    "SELECT id, balance FROM wallets WHERE id = ANY($1::uuid[]) "
                    "ORDER BY id FOR UPDATE",
                    [first, second],
                )
                balances = {UUID(str(row["id"])): int(row["balance"]) for row in rows}
                if len(balances) != 2:
                    raise LookupError(f"wallets {first} and {second} were not both found")
                if balances[planned.source] < planned.amount_minor:
                    await transaction.rollback()
                    return False
                now = utc_now()
                update = (
                    "UPDATE wallets SET balance = $1, version = version + 1, updated_at = $2 "
                    "WHERE id = $3"
                )
                await connection.execute(
                    update, balances[planned.source] - planned.amount_minor, now, planned.source
                )
                await connection.execute(
                    update, balances[planned.target] + planned.amount_minor, now, planned.target
                )
                entry_id = uuid4()
                await connection.execute(
                    "INSERT INTO ledger_entries (id, kind, created_at) VALUES ($1, 'transfer', $2)",
                    entry_id,
                    now,
                )
                await connection.execute(
                    "INSERT INTO ledger_postings (entry_id, account, delta) "
                    "VALUES ($1, $2, $3), ($1, $4, $5)",
                    entry_id,
                    wallet_account(planned.source),
                    -planned.amount_minor,
                    wallet_account(planned.target),
                    planned.amount_minor,
                )
            except BaseException:
                await transaction.rollback()
                raise
            await transaction.commit()
            return True

    try:
        yield Runner([transfer] * concurrency, None)
    finally:
        await pool.close()


RUNNERS: dict[str, Callable[[Database, int], AbstractAsyncContextManager[Runner]]] = {
    "keel": keel,
    "raw": raw,
    "orm": orm,
}


@dataclass
class Drive:
    seconds: float
    latencies: list[float]
    refused: int


async def drive(workers: Sequence[TransferFunction], transfers: Sequence[Transfer]) -> Drive:
    """Every worker takes the next planned transfer until none is left."""
    pending = iter(transfers)
    latencies: list[float] = []
    refused = 0

    async def work(transfer: TransferFunction) -> None:
        nonlocal refused
        for planned in pending:
            started = time.perf_counter()
            applied = await transfer(planned)
            latencies.append(time.perf_counter() - started)
            refused += not applied

    started = time.perf_counter()
    await asyncio.gather(*(work(worker) for worker in workers))
    return Drive(time.perf_counter() - started, latencies, refused)


@dataclass
class Round:
    """One implementation's measured transfers on one fresh database."""

    seconds: float
    latencies: list[float]
    refused: int
    statements: int
    breakdown: dict[str, int] | None


async def seeded_wallets(database: Database) -> list[Account]:
    """The benchmark's wallets, each holding the opening balance, in `database`."""
    seeding = create_engine(database.settings())
    try:
        return await seed_wallets(seeding, WALLETS, OPENING_BALANCE_MINOR)
    finally:
        await seeding.dispose()


async def measure(
    environment: Environment,
    backend: str,
    implementation: str,
    concurrency: int,
    count: int,
    warmup: int,
    seed: int,
) -> Round:
    async with environment.fresh_database(backend) as database:
        accounts = await seeded_wallets(database)
        await analyze(database)
        transfers = plan([account.wallet_id for account in accounts], warmup + count, seed)
        async with RUNNERS[implementation](database, concurrency) as runner:
            warm = await drive(runner.workers, transfers[:warmup])
            measured = transfers[warmup:]
            if runner.counter is None:
                run = await drive(runner.workers, measured)
                applied = len(measured) - run.refused
                statements = applied * RAW_APPLIED_STATEMENTS + run.refused * RAW_REFUSED_STATEMENTS
                breakdown = None
            else:
                with runner.counter:
                    run = await drive(runner.workers, measured)
                statements = runner.counter.total
                breakdown = dict(runner.counter.counts)
        impossible = sum(t.amount_minor == IMPOSSIBLE_AMOUNT_MINOR for t in transfers)
        if warm.refused + run.refused != impossible:
            raise AssertionError(
                f"{implementation} on {backend}: {warm.refused + run.refused} transfers refused, "
                f"{impossible} planned beyond every balance"
            )
        await check_books(database, WALLETS * OPENING_BALANCE_MINOR)
    return Round(run.seconds, run.latencies, run.refused, statements, breakdown)


def combined(
    implementation: str, backend: str, concurrency: int, rounds: Sequence[Round]
) -> dict[str, Any]:
    """The rounds of one implementation as one measurement: all their transfers and time."""
    transfers = sum(len(r.latencies) for r in rounds)
    seconds = sum(r.seconds for r in rounds)
    breakdowns = [r.breakdown for r in rounds if r.breakdown is not None]
    return {
        "implementation": implementation,
        "backend": backend,
        "concurrency": concurrency,
        "transfers": transfers,
        "refused": sum(r.refused for r in rounds),
        "seconds": seconds,
        "throughput": transfers / seconds,
        "round_throughputs": [len(r.latencies) / r.seconds for r in rounds],
        **latency_figures([latency for r in rounds for latency in r.latencies]),
        "statements_per_unit": sum(r.statements for r in rounds) / transfers,
        "statements_counted": "events" if breakdowns else "by construction",
        "statement_breakdown": {
            kind: sum(b[kind] for b in breakdowns) for kind in StatementCounter.KINDS
        }
        if breakdowns
        else None,
    }


async def run(environment: Environment, scale: Scale) -> list[dict[str, Any]]:
    """Each backend and concurrency in rounds; every round runs the three implementations on
    the same plan, each on a fresh database, starting with a different one each round, so
    that a passing disturbance on the machine does not fall on one implementation only."""
    results = []
    per_round = scale.transfers // scale.rounds
    for backend in environment.backends:
        for concurrency in scale.concurrencies:
            rounds: dict[str, list[Round]] = {name: [] for name in IMPLEMENTATIONS}
            for number in range(scale.rounds):
                first = number % len(IMPLEMENTATIONS)
                for implementation in IMPLEMENTATIONS[first:] + IMPLEMENTATIONS[:first]:
                    rounds[implementation].append(
                        await measure(
                            environment,
                            backend,
                            implementation,
                            concurrency,
                            per_round,
                            scale.warmup,
                            seed=concurrency * 1000 + number,
                        )
                    )
            for implementation in IMPLEMENTATIONS:
                result = combined(implementation, backend, concurrency, rounds[implementation])
                note(
                    f"transfers {backend:8} C={concurrency:<3} {implementation:5} "
                    f"{result['throughput']:8.1f}/s  p50 {result['p50_ms']:7.2f} ms  "
                    f"p99 {result['p99_ms']:7.2f} ms  {result['statements_per_unit']:.2f} stmts"
                )
                results.append(result)
    return results


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}" if denominator else "n/a"


def table(results: Sequence[dict[str, Any]]) -> str:
    """One row per implementation, backend and concurrency; the raw row of the same backend
    and concurrency is the denominator of the ratios."""
    raw_of = {(r["backend"], r["concurrency"]): r for r in results if r["implementation"] == "raw"}
    rows = []
    for r in results:
        base = raw_of.get((r["backend"], r["concurrency"]))
        rows.append(
            [
                r["implementation"],
                r["backend"],
                r["concurrency"],
                fixed(r["throughput"], 0),
                " to ".join(fixed(f(r["round_throughputs"]), 0) for f in (min, max)),
                fixed(r["p50_ms"]),
                fixed(r["p99_ms"]),
                fixed(r["statements_per_unit"], 2)
                + ("" if r["statements_counted"] == "events" else " (by construction)"),
                ratio(r["throughput"], base["throughput"]) if base else "n/a",
                ratio(r["p50_ms"], base["p50_ms"]) if base else "n/a",
                ratio(r["p99_ms"], base["p99_ms"]) if base else "n/a",
            ]
        )
    headers = [
        "implementation",
        "backend",
        "C",
        "transfers/s",
        "slowest to fastest round",
        "p50 ms",
        "p99 ms",
        "statements/transfer",
        "throughput ÷ raw",
        "p50 ÷ raw",
        "p99 ÷ raw",
    ]
    return markdown_table(headers, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few hundred transfers per run")
    parser.add_argument("--backends", default="sqlite,postgres")
    arguments = parser.parse_args()
    scale = QUICK if arguments.quick else FULL
    with environment(arguments.backends.split(",")) as env:
        print(table(asyncio.run(run(env, scale))))


if __name__ == "__main__":
    main()
