"""How much memory ExportTasks, the use case behind `keel tasks export`, needs: 10x the tasks.

The export streams every task, oldest first, as JSON lines; its promise is that memory stays
flat however many tasks there are. This seeds N/10 tasks, measures an export of all of them,
tops the database up to N tasks and measures again, then prints both and their ratio: flat
memory means a ratio near 1, memory that grows with the export a ratio near 10.

Each export runs through the container (`container.export_tasks()`), writing JSON lines to
/dev/null, in a child process of its own, twice: once for the growth of the resident set (RSS,
sampled every millisecond) and the time, once under tracemalloc for the peak of Python
allocations (tracemalloc slows the export down and has memory of its own, so that run reports
nothing else). Both start after a warm-up export of the first 100 tasks in the same process, so
one-time costs (the first connection, compiling statements, building serializers) stay out.

    .venv/bin/python bench/export_memory.py [--backend sqlite|postgres] [--tasks 100000]

PostgreSQL runs on a fresh database of the server in KEEL_TEST_POSTGRES_URL, or else on a
throwaway cluster started for the run (as the tests do).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import gc
import json
import os
import resource
import subprocess
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from typing import IO, Any
from uuid import UUID, uuid4

from sqlalchemy import text

from application.use_cases import RegisterUserCommand
from application.use_cases.tasks.creating import CreateTaskCommand, CreateTasksCommand
from entrypoints.container import Container, build_container, running
from infrastructure.database import migrations
from infrastructure.database.engine import create_engine
from infrastructure.settings import KeelSettings
from tests.databases import POSTGRES_URL_VARIABLE, PostgresServer
from tests.postgres_cluster import throwaway_cluster

SCRIPT = Path(__file__).resolve()
SEED_CHUNK = 10_000
WARM_UP = 100
SAMPLE_SECONDS = 0.001
MIB = 1024 * 1024


def note(message: str) -> None:
    """Progress goes to stderr, so that stdout carries only the table."""
    print(message, file=sys.stderr, flush=True)


# --- The database -------------------------------------------------------------------------------


@contextmanager
def fresh_database(backend: str) -> Iterator[str]:
    """The URL of a fresh, migrated database, removed afterwards."""
    with ExitStack() as stack:
        if backend == "sqlite":
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="keel-bench-"))
            url = f"sqlite:///{directory}/export.db"
            asyncio.run(migrate(url))
            yield url
            return
        admin_url = os.environ.get(POSTGRES_URL_VARIABLE) or stack.enter_context(
            throwaway_cluster()
        )
        server = PostgresServer(admin_url)
        name = asyncio.run(server.create_database(migrated=False))
        try:
            url = server.url_of(name)
            asyncio.run(migrate(url))
            yield url
        finally:
            asyncio.run(server.drop_database(name))


async def migrate(url: str) -> None:
    engine = create_engine(KeelSettings.model_validate({"database_url": url}))
    try:
        await migrations.upgrade(engine)
    finally:
        await engine.dispose()


def container_on(url: str) -> Container:
    return build_container(KeelSettings.model_validate({"database_url": url}))


async def seed(url: str, creator: UUID | None, count: int) -> UUID:
    """Add `count` tasks through CreateTasks, as `keel tasks import` would; return the creator.

    Every tenth is a subtask and every seventh waits for the task before it, so that the
    export has dependencies to read too.
    """
    async with running(container_on(url)) as container:
        if creator is None:
            user = await container.register_user()(
                RegisterUserCommand(email="exporter@example.com", username="exporter")
            )
            creator = user.id
        for start in range(0, count, SEED_CHUNK):
            ids = [uuid4() for _ in range(min(SEED_CHUNK, count - start))]
            commands = [
                CreateTaskCommand(
                    task_id=task_id,
                    creator_id=creator,
                    title=f"exported task {start + index}",
                    description="a line of text, as tasks usually have",
                    parent_id=ids[index - 5] if index % 10 == 9 else None,
                    dependency_ids=[ids[index - 1]] if index % 7 == 6 else [],
                )
                for index, task_id in enumerate(ids)
            ]
            await container.create_tasks()(CreateTasksCommand(tasks=commands))
    await analyze(url)
    return creator


async def analyze(url: str) -> None:
    """Fresh statistics on PostgreSQL, so that the planner uses the export's index as it would
    on a database that autovacuum has seen; SQLite needs none."""
    if not url.startswith("postgresql"):
        return
    engine = create_engine(KeelSettings.model_validate({"database_url": url}))
    try:
        async with engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


# --- One export, in a child process -------------------------------------------------------------


def resident_bytes() -> int:
    """The process's resident set now (Linux), else its peak so far (a coarser figure)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


class RssSampler:
    """The highest resident set seen while it runs, sampled from a thread of its own."""

    def __init__(self) -> None:
        self.baseline = self.peak = resident_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exception: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, resident_bytes())

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, resident_bytes())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


async def export(container: Container, sink: IO[str], limit: int | None = None) -> int:
    """Write tasks as `keel tasks export` does; return how many were written."""
    views = container.export_tasks()()
    written = 0
    try:
        async for view in views:
            sink.write(view.model_dump_json() + "\n")
            written += 1
            if written == limit:
                break
    finally:
        # Ends the stream's unit of work now, before the engine is disposed of.
        await views.aclose()
    return written


async def measure_export(url: str, sink: IO[str], traced: bool) -> dict[str, Any]:
    async with running(container_on(url)) as container:
        await export(container, sink, limit=WARM_UP)
        gc.collect()
        if traced:
            tracemalloc.start()
        with RssSampler() as rss:
            started = time.perf_counter()
            exported = await export(container, sink)
            seconds = time.perf_counter() - started
        python_peak = tracemalloc.get_traced_memory()[1] if traced else 0
        tracemalloc.stop()
    return {
        "exported": exported,
        "seconds": seconds,
        "rss_growth": rss.growth,
        "python_peak": python_peak,
    }


def in_child(url: str, traced: bool) -> dict[str, Any]:
    """One export in a fresh process, so that nothing of the seeding or another run counts."""
    completed = subprocess.run(  # noqa: S603 - this script and its own arguments, no shell
        [sys.executable, str(SCRIPT), "--measure-url", url, *(["--traced"] if traced else [])],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"the export failed:\n{completed.stderr}")
    figures: dict[str, Any] = json.loads(completed.stdout)
    return figures


# --- The run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    tasks: int
    seconds: float
    rss_growth: int
    """Bytes: the highest resident set during the export, less the one before it."""
    python_peak: int
    """Bytes: the peak of Python allocations during the export (tracemalloc)."""


def measure(url: str, tasks: int) -> Figures:
    note(f"exporting {tasks:,} tasks")
    plain, traced = in_child(url, traced=False), in_child(url, traced=True)
    for run in (plain, traced):
        if run["exported"] != tasks:
            raise SystemExit(f"the export wrote {run['exported']:,} tasks, not {tasks:,}")
    return Figures(tasks, plain["seconds"], plain["rss_growth"], traced["python_peak"])


def table(backend: str, small: Figures, large: Figures) -> str:
    def row(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    def mib(size: int) -> str:
        return f"{size / MIB:.1f} MiB"

    def ratio(large_value: float, small_value: float) -> str:
        return f"{large_value / small_value:.2f}" if small_value > 0 else "n/a"

    lines = [
        row([backend, "tasks", "seconds", "Python peak (tracemalloc)", "RSS growth"]),
        row(["---", "---:", "---:", "---:", "---:"]),
        *(
            row(["", f"{f.tasks:,}", f"{f.seconds:.1f}", mib(f.python_peak), mib(f.rss_growth)])
            for f in (small, large)
        ),
        row(
            [
                "",
                f"ratio {large.tasks // small.tasks}x",
                ratio(large.seconds, small.seconds),
                ratio(large.python_peak, small.python_peak),
                ratio(large.rss_growth, small.rss_growth),
            ]
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--tasks", type=int, default=100_000, help="N, the larger export")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--measure-url", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_url:
        with open(os.devnull, "w") as sink:
            figures = asyncio.run(measure_export(args.measure_url, sink, args.traced))
        print(json.dumps(figures))
        return
    if args.tasks < 10 * WARM_UP:
        parser.error(f"--tasks must be at least {10 * WARM_UP}")

    with fresh_database(args.backend) as url:
        note(f"seeding {args.tasks // 10:,} tasks on {args.backend}")
        creator = asyncio.run(seed(url, None, args.tasks // 10))
        small = measure(url, args.tasks // 10)
        note(f"seeding {args.tasks - args.tasks // 10:,} more")
        asyncio.run(seed(url, creator, args.tasks - args.tasks // 10))
        large = measure(url, args.tasks)
    print(table(args.backend, small, large))
    if args.json:
        print(json.dumps({"backend": args.backend, "small": asdict(small), "large": asdict(large)}))


if __name__ == "__main__":
    main()
