"""Run every benchmark on every backend in one go, and write the results and the chart.

    .venv/bin/python bench/run_all.py [--quick] [--backends sqlite,postgres] [--output DIR]

SQLite runs on files in a temporary directory; PostgreSQL on the server in
KEEL_TEST_POSTGRES_URL, or else on one throwaway cluster started for the run. A full run writes
docs/benchmarks/results.json, results.md and transfers.png; a quick run (a smoke test, a few
hundred transfers) writes them to a temporary directory unless --output says where, so that it
never replaces the full run's results.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import subprocess
import tempfile
import textwrap
import time
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from matplotlib.figure import Figure

from bench import ledger_export, tasks, transfers
from bench.common import (
    FULL,
    QUICK,
    ROOT,
    Environment,
    Scale,
    StatementCounter,
    environment,
    fixed,
    markdown_table,
    note,
)

FULL_OUTPUT = ROOT / "docs" / "benchmarks"
QUICK_OUTPUT = Path(tempfile.gettempdir()) / "keel-bench-quick"
COLOURS = {"keel": "#1f6feb", "raw": "#8b949e", "orm": "#d29922"}


def git(*arguments: str) -> str:
    """A read-only git query about the checkout measured; "unknown" without git."""
    try:
        completed = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            ["git", *arguments],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except OSError:
        return "unknown"
    return completed.stdout.strip() if completed.returncode == 0 else "unknown"


async def machine(env: Environment) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": metadata.version("sqlalchemy"),
        "aiosqlite": metadata.version("aiosqlite"),
        "asyncpg": metadata.version("asyncpg"),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "uncommitted_changes_in_src": bool(git("status", "--porcelain", "--", "src")),
    }
    if env.postgres_url is not None:
        facts["postgresql"] = await env.postgres_facts()
        facts["postgresql_source"] = (
            "KEEL_TEST_POSTGRES_URL" if os.environ.get("KEEL_TEST_POSTGRES_URL") else "throwaway"
        )
    return facts


def machine_table(facts: dict[str, Any]) -> str:
    rows: list[list[object]] = [
        ["platform", facts["platform"]],
        ["CPUs", facts["cpus"]],
        ["Python", facts["python"]],
        ["SQLite", facts["sqlite"]],
    ]
    if "postgresql" in facts:
        server = facts["postgresql"]
        rows.append(
            [
                "PostgreSQL",
                f"{server['server_version']} ({facts['postgresql_source']} server: "
                f"fsync={server['fsync']}, synchronous_commit={server['synchronous_commit']}, "
                f"full_page_writes={server['full_page_writes']})",
            ]
        )
    rows += [
        ["SQLAlchemy", facts["sqlalchemy"]],
        ["aiosqlite", facts["aiosqlite"]],
        ["asyncpg", facts["asyncpg"]],
        ["date (UTC)", facts["date"]],
        [
            "Keel commit",
            facts["commit"]
            + (" with uncommitted changes in src/" if facts["uncommitted_changes_in_src"] else ""),
        ],
    ]
    return markdown_table(["", ""], rows)


def keel_over_raw(results: list[dict[str, Any]]) -> str:
    """The ratios that answer "what does Keel cost over hand-written code?"."""
    by_key = {(r["implementation"], r["backend"], r["concurrency"]): r for r in results}
    rows = []
    for (implementation, backend, concurrency), keel in by_key.items():
        if implementation != "keel":
            continue
        raw = by_key[("raw", backend, concurrency)]
        orm = by_key.get(("orm", backend, concurrency))
        rows.append(
            [
                backend,
                concurrency,
                f"{keel['throughput'] / raw['throughput']:.2f}",
                f"{keel['p50_ms'] / raw['p50_ms']:.2f}",
                f"{keel['p99_ms'] / raw['p99_ms']:.2f}",
                f"{keel['statements_per_unit'] / raw['statements_per_unit']:.2f}",
                f"{orm['throughput'] / raw['throughput']:.2f}" if orm else "n/a",
            ]
        )
    headers = [
        "backend",
        "C",
        "keel/raw throughput",
        "keel/raw p50",
        "keel/raw p99",
        "keel/raw statements",
        "orm/raw throughput",
    ]
    return markdown_table(headers, rows)


def breakdown_table(results: list[dict[str, Any]]) -> str:
    """Where the counted statements of Keel and the ORM come from, per transfer."""
    rows = [
        [
            r["implementation"],
            r["backend"],
            r["concurrency"],
            *(
                fixed(r["statement_breakdown"][kind] / r["transfers"])
                for kind in StatementCounter.KINDS
            ),
        ]
        for r in results
        if r["statement_breakdown"] is not None
    ]
    headers = [
        "implementation",
        "backend",
        "C",
        "cursor executions",
        "Keel's own statements",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "pre-ping",
    ]
    return markdown_table(headers, rows)


def chart(results: list[dict[str, Any]], path: Path, scale: Scale) -> None:
    backends = sorted({r["backend"] for r in results}, key=["sqlite", "postgres"].index)
    # A bare Figure draws to a file without pyplot, so no display backend is involved.
    figure = Figure(figsize=(6 * len(backends), 4.5))
    axes = figure.subplots(1, len(backends), squeeze=False)
    width = 0.26
    for axis, backend in zip(axes[0], backends, strict=True):
        for offset, implementation in enumerate(transfers.IMPLEMENTATIONS):
            rows = [
                r
                for r in results
                if r["backend"] == backend and r["implementation"] == implementation
            ]
            positions = [index + (offset - 1) * width for index in range(len(rows))]
            bars = axis.bar(
                positions,
                [r["throughput"] for r in rows],
                width,
                label=implementation,
                color=COLOURS[implementation],
            )
            axis.bar_label(bars, fmt="%.0f", fontsize=7, padding=2)
        axis.set_xticks(range(len(scale.concurrencies)))
        axis.set_xticklabels([f"C = {c}" for c in scale.concurrencies])
        axis.set_title(backend)
        axis.set_ylabel("transfers per second")
        axis.grid(axis="y", alpha=0.3)
        axis.legend()
    run = "quick run" if scale.quick else "full run"
    figure.suptitle(f"Transfers: Keel, hand-written driver code and a naive ORM ({run})")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def prose(text: str) -> str:
    """A paragraph (or a "- " bullet) filled to 100 columns, whatever was put into it."""
    words = " ".join(text.split())
    if words.startswith("- "):
        return textwrap.fill(words, 100, subsequent_indent="  ")
    return textwrap.fill(words, 100)


def report(
    facts: dict[str, Any], results: dict[str, Any], scale: Scale, seconds: float, command: str
) -> str:
    run = (
        "a quick run, a smoke test with few transfers and small data"
        if scale.quick
        else "a full run"
    )
    exported = {r["backend"]: r for r in results["ledger_export"]}
    export_sizes = "; ".join(
        f"{backend}: {r['postings']:,} postings, seeding and exports in "
        f"{r['backend_seconds'] / 60:.1f} minutes"
        for backend, r in exported.items()
    )
    fewer = [backend for backend, r in exported.items() if r["postings"] < scale.export_postings]
    why_fewer = (
        f"""Fewer on {" and ".join(fewer)}: with {scale.export_postings:,} postings, seeding and
        the six exports there took longer than about 5 minutes, nearly all of it in keel-pages,
        whose OFFSET pages cost more the deeper they go."""
        if fewer
        else ""
    )
    load = facts["load_average"]
    blocks = [
        "# Keel benchmarks",
        prose(
            f"""Keel against hand-written driver code and a naive ORM, measured in one run, on
            the same databases and settings. Produced by `{command}` ({run}) in
            {seconds / 60:.1f} minutes; the raw figures are in `results.json` beside this file.
            How to read them: `bench/README.md`."""
        ),
        "## Machine",
        machine_table(facts),
        prose(
            f"""The machine's load average (1 minute) was {load["start"]:.2f} when the run
            started and {load["end"]:.2f} when it ended: other work on it shows as noise,
            which is why transfers run in interleaved rounds. On PostgreSQL every seeded
            database is analyzed before it is measured, as autovacuum would soon do after a bulk
            load, so that plans do not depend on when it happens to run."""
        ),
        "## Transfers (the hot path)",
        prose(
            f"""{transfers.WALLETS} wallets; per implementation, backend and concurrency C,
            {scale.transfers:,} measured transfers between two random distinct wallets, by C
            concurrent workers, in {scale.rounds} round(s); each round runs the three
            implementations on the same planned transfers (after {scale.warmup} unmeasured
            ones), each on a freshly migrated and seeded database, starting with a different
            implementation each round. One planned transfer in {transfers.IMPOSSIBLE_EVERY}
            asks for more than exists and is refused by all three. Every implementation has
            exactly C connections (`KEEL_POOL_SIZE=C`, `KEEL_MAX_OVERFLOW=0` for Keel and the
            ORM); everything else is Keel's default, for the raw code too: on SQLite WAL,
            `synchronous=FULL`, `BEGIN IMMEDIATE`, a 30 s busy timeout. After each round the
            books are checked with plain SQL: credits conserved, postings sum to zero, no
            negative balance, each balance equal to its postings."""
        ),
        "\n".join(
            prose(item)
            for item in (
                """- **keel**: `container.transfer_credits()(TransferCreditsCommand(...))`,
                configured by `KEEL_*` variables.""",
                """- **raw**: aiosqlite (a connection per worker) or asyncpg (a pool of C): read
                both wallets in id order under a lock (`BEGIN IMMEDIATE` on SQLite, `FOR
                UPDATE` row locks on PostgreSQL), check the balance, update both, write the
                entry and its two postings, commit. Its statements are counted by
                construction.""",
                """- **orm**: async SQLAlchemy ORM on Keel's records, on an engine from Keel's
                `create_engine`: `session.get` both wallets (in id order, FOR UPDATE), change
                them, add the ledger records, commit.""",
            )
        ),
        transfers.table(results["transfers"]),
        prose(
            """Keel over raw: above 1 is slower for latency and more statements; below 1 is
            slower for throughput."""
        ),
        keel_over_raw(results["transfers"]),
        prose(
            """Statements per transfer, by origin: cursor executions and BEGIN, COMMIT and
            ROLLBACK from SQLAlchemy's events, and the statements Keel sends straight to the
            driver from `observe_statements`. An executemany counts as one. The pool's
            pre-ping costs BEGIN, an empty query and ROLLBACK on asyncpg; Keel's engines
            (the ORM baseline runs on one) ping only a connection that sat idle in the pool
            for a second. A statement is not a round trip: on SQLite Keel sends BEGIN with the
            unit's first statement and its writes with the COMMIT (two hops to the
            connection's thread per transfer, against the raw code's seven); on PostgreSQL
            a unit's writes are one statement."""
        ),
        breakdown_table(results["transfers"]),
        "![Transfers per second](transfers.png)",
        "## Tasks",
        prose(
            f"""One call at a time. **task flow**: create a task with a bounty, assign it, start
            it, complete it ({scale.task_flows} flows of four units; the latency is that of
            the four together); the raw version does the same writes, locks and checks in four
            hand-written transactions, and Keel reads its last task back. **show**: GetTask on
            a task with {tasks.SUBTASKS} subtasks and {tasks.DEPENDENCIES} dependencies;
            **page**: ListTasks, the first {tasks.PAGE} of {scale.listed_tasks:,} tasks with
            the total, oldest first; {scale.reads} calls each, against hand-written SQL that
            returns the same tasks (checked)."""
        ),
        tasks.table(results["tasks"]),
        "The task flow step by step:",
        tasks.steps_table(results["tasks"]),
        "## Ledger export",
        prose(
            f"""Per backend, {export_sizes}. {why_fewer} Every posting is streamed once by
            each implementation, in a child process per export:
            throughput and peak RSS from one run, the tracemalloc peak (Python allocations)
            from a second run under tracemalloc. RSS growth is the peak during the export
            above the RSS before it. **keel-stream**: a read-only session from Keel's session
            factory, `session.stream` with `yield_per` {ledger_export.STREAM_CHUNK:,};
            **keel-pages**: `SqlLedgerRepository.statement`, pages of
            {ledger_export.STATEMENT_PAGE} lines of each of the {ledger_export.ACCOUNTS}
            accounts in one read-only unit (Keel has no ledger export use case);
            **raw-cursor**: the driver's own cursor, {ledger_export.STREAM_CHUNK:,} rows a
            fetch."""
        ),
        ledger_export.table(results["ledger_export"]),
    ]
    return "\n\n".join(blocks) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of under ~3 minutes")
    parser.add_argument("--backends", default="sqlite,postgres", help="comma-separated")
    parser.add_argument("--output", type=Path, help="where the results go")
    arguments = parser.parse_args()
    scale = QUICK if arguments.quick else FULL
    output: Path = arguments.output or (QUICK_OUTPUT if scale.quick else FULL_OUTPUT)
    command = "bench/run_all.py" + (" --quick" if scale.quick else "")
    if arguments.backends != "sqlite,postgres":
        command += f" --backends {arguments.backends}"
    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    with environment(arguments.backends.split(",")) as env:
        facts = asyncio.run(machine(env))
        results: dict[str, Any] = {}
        for name, benchmark in (
            ("transfers", transfers),
            ("tasks", tasks),
            ("ledger_export", ledger_export),
        ):
            note(f"--- {name}")
            results[name] = asyncio.run(benchmark.run(env, scale))
    seconds = time.perf_counter() - started
    facts["load_average"] = {"start": load_at_start, "end": os.getloadavg()[0]}
    output.mkdir(parents=True, exist_ok=True)
    document = {
        "command": command,
        "seconds": seconds,
        "scale": asdict(scale),
        "machine": facts,
        **results,
    }
    (output / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    markdown = report(facts, results, scale, seconds, command)
    (output / "results.md").write_text(markdown)
    chart(results["transfers"], output / "transfers.png", scale)
    print(markdown)
    note(f"done in {seconds / 60:.1f} minutes; results in {output}")


if __name__ == "__main__":
    main()
