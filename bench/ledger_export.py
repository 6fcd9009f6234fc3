"""Stream-export every ledger posting: Keel's session against a raw driver cursor.

Keel has no ledger export use case, so two ways through Keel are measured:

- keel-stream: a read-only session from Keel's own session factory, `session.stream` over
  the postings joined with their entries, `yield_per` chunks of 1,000 typed rows;
- keel-pages: `SqlLedgerRepository.statement`, the only ledger read Keel has, page by page
  (500 lines, the largest page the statement use case allows) for every account, in one
  read-only unit of work;

against raw-cursor: the same join through the driver's own cursor (aiosqlite fetchmany,
an asyncpg server-side cursor), converted to the same Python values.

Every export yields (entry id, kind, account, amount as Decimal, aware timestamp) per posting
into the same tally, which must come out the same for all three. Each export runs in a child
process of its own twice: once for throughput and peak RSS, once under tracemalloc for the peak
of Python allocations (tracemalloc slows it down, so that run's time is not reported).

    .venv/bin/python bench/ledger_export.py [--quick] [--backends sqlite,postgres]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import json
import random
import resource
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from sqlalchemy import select

from bench.common import (
    FULL,
    QUICK,
    Database,
    Environment,
    Scale,
    StatementCounter,
    analyze,
    connect_sqlite,
    environment,
    fixed,
    keel_environment,
    markdown_table,
    minor_to_credits,
    note,
    pool_settings,
    read_sqlite_timestamp,
    sqlite_timestamp,
    utc_now,
)
from domain.ledger import wallet_account
from entrypoints.container import build_container, running
from infrastructure.database.engine import unit_execution_options
from infrastructure.database.records import LedgerEntryRecord, PostingRecord

SCRIPT = Path(__file__).resolve()
ACCOUNTS = 100
STREAM_CHUNK = 1000
STATEMENT_PAGE = 500
SEED_CHUNK = 10_000
IMPLEMENTATIONS = ("keel-stream", "keel-pages", "raw-cursor")
# By construction: BEGIN, the SELECT, COMMIT (the cursor's fetches are round trips of the
# one statement, for Keel's stream as for the raw cursor).
RAW_STATEMENTS = 3
EXPORT_SQL = (
    "SELECT p.entry_id, e.kind, p.account, p.delta, e.created_at "
    "FROM ledger_postings AS p JOIN ledger_entries AS e ON e.id = p.entry_id ORDER BY p.id"
)


@dataclass
class Tally:
    """What an export handed out: how many postings, their sum (zero) and absolute sum."""

    postings: int = 0
    total: Decimal = Decimal(0)
    moved: Decimal = Decimal(0)

    def add(self, _entry_id: UUID, _kind: str, _account: str, delta: Decimal, _at: Any) -> None:
        self.postings += 1
        self.total += delta
        self.moved += abs(delta)


async def seed_ledger(database: Database, postings: int) -> None:
    """`postings` / 2 transfers between ACCOUNTS wallet accounts, with plain INSERTs through
    the raw driver (executemany in chunks), so seeding stays short."""
    rng = random.Random(postings)  # noqa: S311 - reproducible data, not secrets
    accounts = [wallet_account(uuid4()) for _ in range(ACCOUNTS)]
    start = utc_now() - timedelta(days=365)
    sqlite = database.backend == "sqlite"
    entry_sql = "INSERT INTO ledger_entries (id, kind, created_at) VALUES ($1, 'transfer', $2)"
    posting_sql = "INSERT INTO ledger_postings (entry_id, account, delta) VALUES ($1, $2, $3)"
    if sqlite:
        entry_sql, posting_sql = entry_sql.replace("$", "?"), posting_sql.replace("$", "?")
        connection: Any = await connect_sqlite(database)
    else:
        connection = await asyncpg.connect(database.url)
    try:
        for first in range(0, postings // 2, SEED_CHUNK):
            entries: list[tuple[Any, ...]] = []
            lines: list[tuple[Any, ...]] = []
            for number in range(first, min(first + SEED_CHUNK, postings // 2)):
                entry_id = uuid4()
                moment = start + timedelta(seconds=number)
                key: Any = entry_id.hex if sqlite else entry_id
                entries.append((key, sqlite_timestamp(moment) if sqlite else moment))
                source, target = rng.sample(accounts, 2)
                amount = rng.randint(1, 100_000)
                lines += [(key, source, -amount), (key, target, amount)]
            if sqlite:
                await connection.execute("BEGIN IMMEDIATE")
                await connection.executemany(entry_sql, entries)
                await connection.executemany(posting_sql, lines)
                await connection.execute("COMMIT")
            else:
                async with connection.transaction():
                    await connection.executemany(entry_sql, entries)
                    await connection.executemany(posting_sql, lines)
    finally:
        await connection.close()


async def keel_stream(database: Database, tally: Tally) -> int:
    with keel_environment(database, **pool_settings(1)):
        container = build_container()
        async with running(container):
            counter = StatementCounter(container.engine())
            with counter:
                async with container.session_factory()() as session:
                    await session.connection(
                        execution_options=unit_execution_options(read_only=True)
                    )
                    rows = await session.stream(
                        select(
                            PostingRecord.entry_id,
                            LedgerEntryRecord.kind,
                            PostingRecord.account,
                            PostingRecord.delta,
                            LedgerEntryRecord.created_at,
                        )
                        .join(LedgerEntryRecord, LedgerEntryRecord.id == PostingRecord.entry_id)
                        .order_by(PostingRecord.id)
                        .execution_options(yield_per=STREAM_CHUNK)
                    )
                    async for chunk in rows.partitions():
                        for entry_id, kind, account, delta, created_at in chunk:
                            tally.add(entry_id, kind, account, delta, created_at)
            return counter.total


async def keel_pages(database: Database, tally: Tally, accounts: Sequence[str]) -> int:
    with keel_environment(database, **pool_settings(1)):
        container = build_container()
        async with running(container):
            counter = StatementCounter(container.engine())
            with counter:
                async with container.uow(read_only=True) as uow:
                    for account in accounts:
                        offset, total = 0, 1
                        while offset < total:
                            page = await uow.ledger.statement(
                                account, limit=STATEMENT_PAGE, offset=offset
                            )
                            for line in page.lines:
                                tally.add(
                                    line.entry_id, line.kind, account, line.delta, line.created_at
                                )
                            offset, total = offset + STATEMENT_PAGE, page.total
            return counter.total


async def raw_cursor(database: Database, tally: Tally) -> int:
    if database.backend == "sqlite":
        connection = await connect_sqlite(database)
        try:
            await connection.execute("BEGIN DEFERRED")
            cursor = await connection.execute(EXPORT_SQL)
            while rows := await cursor.fetchmany(STREAM_CHUNK):
                for entry_id, kind, account, delta, created_at in rows:
                    tally.add(
                        UUID(entry_id),
                        kind,
                        account,
                        minor_to_credits(delta),
                        read_sqlite_timestamp(created_at),
                    )
            await cursor.close()
            await connection.execute("COMMIT")
        finally:
            await connection.close()
        return RAW_STATEMENTS
    connection = await asyncpg.connect(database.url)
    try:
        # A server-side cursor lives in a transaction; read-only, as Keel's readers are.
        async with connection.transaction(readonly=True):
            cursor = await connection.cursor(EXPORT_SQL)
            while rows := await cursor.fetch(STREAM_CHUNK):
                for entry_id, kind, account, delta, created_at in rows:
                    tally.add(
                        UUID(str(entry_id)), kind, account, minor_to_credits(delta), created_at
                    )
    finally:
        await connection.close()
    return RAW_STATEMENTS


async def accounts_of(database: Database) -> list[str]:
    """The accounts to page through: Keel has no query for them, so they are listed with
    plain SQL before the clock starts."""
    if database.backend == "sqlite":
        connection = await connect_sqlite(database)
        try:
            rows = await connection.execute_fetchall(
                "SELECT DISTINCT account FROM ledger_postings ORDER BY account"
            )
        finally:
            await connection.close()
        return [str(row[0]) for row in rows]
    pg = await asyncpg.connect(database.url)
    try:
        return [
            str(row[0])
            for row in await pg.fetch("SELECT DISTINCT account FROM ledger_postings ORDER BY 1")
        ]
    finally:
        await pg.close()


def _status_bytes(field: str) -> int | None:
    """A figure of /proc/self/status in bytes (Linux); None where there is none."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return None


def reset_peak_rss() -> bool:
    """Start the peak RSS (VmHWM) afresh from the current RSS, so that it measures the export
    and not the imports before it; False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss() -> int:
    """VmHWM, or ru_maxrss where /proc is not there. (ru_maxrss is not used on Linux: it
    keeps the parent's peak across fork and exec.)"""
    peak = _status_bytes("VmHWM")
    if peak is not None:
        return peak
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss if sys.platform == "darwin" else maxrss * 1024


def current_rss() -> int:
    return _status_bytes("VmRSS") or 0


async def child(implementation: str, database: Database, trace: bool) -> dict[str, Any]:
    """One export in this process; the figures are printed as JSON for the parent."""
    accounts = await accounts_of(database) if implementation == "keel-pages" else []
    tally = Tally()
    baseline = current_rss()
    peak_is_the_exports = reset_peak_rss()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    if implementation == "keel-stream":
        statements = await keel_stream(database, tally)
    elif implementation == "keel-pages":
        statements = await keel_pages(database, tally, accounts)
    else:
        statements = await raw_cursor(database, tally)
    seconds = time.perf_counter() - started
    traced_peak = tracemalloc.get_traced_memory()[1] if trace else None
    return {
        "seconds": seconds,
        "statements": statements,
        "baseline_rss": baseline,
        "peak_rss": peak_rss(),
        "peak_rss_since_start": not peak_is_the_exports,
        "tracemalloc_peak": traced_peak,
        "tally": {key: str(value) for key, value in asdict(tally).items()},
    }


async def spawn(implementation: str, database: Database, *, trace: bool) -> dict[str, Any]:
    command = [
        sys.executable,
        str(SCRIPT),
        "--child",
        implementation,
        "--url",
        database.url,
    ]
    if trace:
        command.append("--trace")
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{implementation} export failed:\n{err.decode()}")
    figures: dict[str, Any] = json.loads(out)
    return figures


async def run(environment: Environment, scale: Scale) -> list[dict[str, Any]]:
    results = []
    for backend in environment.backends:
        postings = scale.postings_for(backend)
        async with environment.fresh_database(backend) as database:
            started = time.perf_counter()
            await seed_ledger(database, postings)
            await analyze(database)
            backend_results = []
            note(
                f"export   {backend:8} seeded {postings:,} postings in "
                f"{time.perf_counter() - started:.1f} s"
            )
            tallies = set()
            for implementation in IMPLEMENTATIONS:
                plain = await spawn(implementation, database, trace=False)
                traced = await spawn(implementation, database, trace=True)
                tally = plain["tally"]
                if int(tally["postings"]) != postings or Decimal(tally["total"]):
                    raise AssertionError(f"{implementation} on {backend} exported {tally}")
                tallies.add(json.dumps(tally, sort_keys=True))
                result = {
                    "implementation": implementation,
                    "backend": backend,
                    "postings": postings,
                    "seconds": plain["seconds"],
                    "throughput": postings / plain["seconds"],
                    "statements": plain["statements"],
                    "statements_counted": "by construction"
                    if implementation == "raw-cursor"
                    else "events",
                    "peak_rss_mib": plain["peak_rss"] / 2**20,
                    "rss_growth_mib": (plain["peak_rss"] - plain["baseline_rss"]) / 2**20,
                    "peak_rss_since_start": plain["peak_rss_since_start"],
                    "tracemalloc_peak_mib": traced["tracemalloc_peak"] / 2**20,
                }
                backend_results.append(result)
                note(
                    f"export   {backend:8} {implementation:12} "
                    f"{result['throughput']:10,.0f} postings/s  "
                    f"RSS +{result['rss_growth_mib']:.1f} MiB  "
                    f"traced peak {result['tracemalloc_peak_mib']:.1f} MiB"
                )
            if len(tallies) != 1:
                raise AssertionError(f"the exports on {backend} disagree: {sorted(tallies)}")
            # Seeding and all six exports: what a backend's share of the run costs.
            phase = time.perf_counter() - started
            note(f"export   {backend:8} seeding and exports took {phase / 60:.1f} minutes")
            results += [{**result, "backend_seconds": phase} for result in backend_results]
    return results


def table(results: Sequence[dict[str, Any]]) -> str:
    raw_of = {r["backend"]: r for r in results if r["implementation"] == "raw-cursor"}
    rows = [
        [
            r["implementation"],
            r["backend"],
            f"{r['postings']:,}",
            fixed(r["seconds"], 1),
            fixed(r["throughput"], 0),
            f"{r['throughput'] / raw_of[r['backend']]['throughput']:.2f}",
            f"{r['statements']:,}"
            + ("" if r["statements_counted"] == "events" else " (by construction)"),
            fixed(r["peak_rss_mib"], 1),
            fixed(r["rss_growth_mib"], 1),
            fixed(r["tracemalloc_peak_mib"], 1),
        ]
        for r in results
    ]
    headers = [
        "implementation",
        "backend",
        "postings",
        "seconds",
        "postings/s",
        "throughput ÷ raw",
        "statements",
        "peak RSS MiB",
        "RSS growth MiB",
        "tracemalloc peak MiB",
    ]
    return markdown_table(headers, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 postings")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--child", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        backend = "sqlite" if arguments.url.startswith("sqlite") else "postgres"
        figures = asyncio.run(
            child(arguments.child, Database(backend, arguments.url), arguments.trace)
        )
        print(json.dumps(figures))
        return
    scale = QUICK if arguments.quick else FULL
    with environment(arguments.backends.split(",")) as env:
        print(table(asyncio.run(run(env, scale))))


if __name__ == "__main__":
    main()
