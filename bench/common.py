"""What the benchmarks share: fresh databases, statement counts, latency figures and seeding."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from uuid import UUID, uuid4

import aiosqlite
import asyncpg
from sqlalchemy import event, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.ledger import MINT_ACCOUNT, wallet_account
from infrastructure.database import migrations
from infrastructure.database.channel import observe_statements
from infrastructure.database.engine import READ_ONLY_OPTION, create_engine
from infrastructure.database.records import (
    LedgerEntryRecord,
    PostingRecord,
    Record,
    UserRecord,
    WalletRecord,
)
from infrastructure.settings import KeelSettings
from tests.postgres_cluster import throwaway_cluster

BACKENDS = ("sqlite", "postgres")
POSTGRES_URL_VARIABLE = "KEEL_TEST_POSTGRES_URL"
ROOT = Path(__file__).resolve().parents[1]
SEED_CHUNK = 5000

# PRAGMA takes no bound parameters: each allowed statement is spelled out, as in Keel's engine.
_SYNCHRONOUS_PRAGMAS = {
    level: f"PRAGMA synchronous={level}" for level in ("OFF", "NORMAL", "FULL", "EXTRA")
}


def note(message: str) -> None:
    """Progress goes to stderr, so that stdout carries only the tables."""
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Scale:
    """How much work each benchmark does: the full run or the quick one."""

    quick: bool
    transfers: int
    """Measured transfers per implementation, backend and concurrency, over all rounds."""
    rounds: int
    warmup: int
    """Unmeasured transfers at the start of each round."""
    concurrencies: tuple[int, ...]
    task_flows: int
    reads: int
    listed_tasks: int
    export_postings: int
    """Ledger postings to export, unless export_postings_by_backend names the backend."""
    export_postings_by_backend: Mapping[str, int] = field(default_factory=dict)
    """Smaller exports where the full one would make that backend's part of the run take
    longer than about five minutes."""

    def postings_for(self, backend: str) -> int:
        return self.export_postings_by_backend.get(backend, self.export_postings)


FULL = Scale(
    quick=False,
    transfers=3000,
    rounds=3,
    warmup=100,
    concurrencies=(1, 8, 32),
    task_flows=300,
    reads=200,
    listed_tasks=100_000,
    export_postings=1_000_000,
    # On PostgreSQL, seeding and the six exports of 1,000,000 postings take over 5 minutes,
    # nearly all of it in keel-pages (each deeper OFFSET page costs more than the last).
    export_postings_by_backend={"postgres": 500_000},
)
QUICK = Scale(
    quick=True,
    transfers=300,
    rounds=1,
    warmup=50,
    concurrencies=(1, 8, 32),
    task_flows=40,
    reads=30,
    listed_tasks=20_000,
    export_postings=50_000,
)


@dataclass(frozen=True)
class Database:
    """One freshly migrated database: a SQLite file, or a database on the PostgreSQL server."""

    backend: str
    url: str
    """As Keel takes it: sqlite:///PATH or postgresql://..."""

    @property
    def sqlite_path(self) -> str:
        path = make_url(self.url).database
        assert self.backend == "sqlite", self.backend
        assert path is not None
        return path

    def settings(self, **overrides: Any) -> KeelSettings:
        return KeelSettings.model_validate({"database_url": self.url, **overrides})


class Environment:
    """Where the benchmarks make their databases: a temporary directory and one server."""

    def __init__(self, backends: Sequence[str], sqlite_dir: Path, postgres_url: str | None):
        self.backends = tuple(backends)
        self.sqlite_dir = sqlite_dir
        self.postgres_url = postgres_url

    @asynccontextmanager
    async def fresh_database(self, backend: str) -> AsyncIterator[Database]:
        """A new database migrated with Keel's migrations; removed afterwards."""
        name = f"keel_bench_{uuid4().hex[:12]}"
        if backend == "sqlite":
            database = Database("sqlite", f"sqlite:///{self.sqlite_dir / name}.db")
        else:
            assert backend == "postgres", backend
            assert self.postgres_url is not None
            # The name is generated here, never taken from input; CREATE DATABASE takes no
            # parameters.
            await self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
            url = make_url(self.postgres_url).set(drivername="postgresql", database=name)
            database = Database("postgres", url.render_as_string(hide_password=False))
        try:
            engine = create_engine(database.settings())
            try:
                await migrations.upgrade(engine)
            finally:
                await engine.dispose()
            yield database
        finally:
            if backend == "sqlite":
                _remove_sqlite_files(database.sqlite_path)
            else:
                await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def postgres_facts(self) -> dict[str, str]:
        """The server's version and the durability settings every implementation ran with."""
        assert self.postgres_url is not None
        connection = await asyncpg.connect(self._admin_url())
        try:
            return {
                name: str(await connection.fetchval("SELECT current_setting($1)", name))
                for name in ("server_version", "fsync", "synchronous_commit", "full_page_writes")
            }
        finally:
            await connection.close()

    def _admin_url(self) -> str:
        assert self.postgres_url is not None
        url = make_url(self.postgres_url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    async def _admin(self, statement: str) -> None:
        connection = await asyncpg.connect(self._admin_url())
        try:
            await connection.execute(statement)
        finally:
            await connection.close()


def _remove_sqlite_files(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


@contextmanager
def environment(backends: Sequence[str]) -> Iterator[Environment]:
    """SQLite files in a temporary directory; the server in KEEL_TEST_POSTGRES_URL, or one
    throwaway PostgreSQL cluster for the whole run."""
    unknown = set(backends) - set(BACKENDS)
    if unknown:
        raise SystemExit(f"unknown backend(s): {', '.join(sorted(unknown))}")
    with ExitStack() as stack:
        sqlite_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="keel-bench-")))
        postgres_url = None
        if "postgres" in backends:
            postgres_url = os.environ.get(POSTGRES_URL_VARIABLE) or stack.enter_context(
                throwaway_cluster()
            )
        yield Environment(backends, sqlite_dir, postgres_url)


@contextmanager
def keel_environment(database: Database, **settings: object) -> Iterator[None]:
    """KEEL_* variables pointing Keel at `database`, put back as they were afterwards."""
    values = {"KEEL_DATABASE_URL": database.url}
    values.update({f"KEEL_{name.upper()}": str(value) for name, value in settings.items()})
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def pool_settings(concurrency: int) -> dict[str, int]:
    """Every implementation gets exactly one connection per concurrent worker."""
    return {"pool_size": concurrency, "max_overflow": 0}


class StatementCounter:
    """The SQL statements an engine sends while counting, from SQLAlchemy's and Keel's events.

    A cursor execution counts once (an executemany is one statement), and so does each of
    the statements Keel sends straight to the driver (`observe_statements`). Added to those
    is what goes outside a cursor: BEGIN (asyncpg opens the transaction itself; on SQLite
    Keel sends it with the unit's first statement), COMMIT and ROLLBACK, and the pool's
    pre-ping: BEGIN, an empty query and ROLLBACK on asyncpg (Keel pings only a connection
    that sat idle; the ORM baseline, on an engine of its own making, likewise).
    """

    KINDS = ("cursor", "keel", "begin", "commit", "rollback", "ping")

    def __init__(self, engine: AsyncEngine) -> None:
        self._async_engine = engine
        self._engine = engine.sync_engine
        self._postgres = self._engine.dialect.name == "postgresql"
        self._ping_statements = 3 if self._postgres else 1
        self.counts = dict.fromkeys(self.KINDS, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def reset(self) -> None:
        self.counts = dict.fromkeys(self.KINDS, 0)

    def __enter__(self) -> Self:
        self.reset()
        self._stop_observing = observe_statements(self._async_engine, self._keel)
        event.listen(self._engine, "before_cursor_execute", self._cursor)
        event.listen(self._engine, "begin", self._begin)
        event.listen(self._engine, "commit", self._commit)
        event.listen(self._engine, "rollback", self._rollback)
        dialect = self._engine.dialect
        original = dialect.do_ping

        def counting_ping(dbapi_connection: Any) -> bool:
            self.counts["ping"] += self._ping_statements
            return original(dbapi_connection)

        # The pool has no event for its pre-ping; an instance attribute shadows the method.
        dialect.do_ping = counting_ping  # type: ignore[method-assign]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop_observing()
        event.remove(self._engine, "before_cursor_execute", self._cursor)
        event.remove(self._engine, "begin", self._begin)
        event.remove(self._engine, "commit", self._commit)
        event.remove(self._engine, "rollback", self._rollback)
        del self._engine.dialect.do_ping

    def _cursor(self, *_args: Any) -> None:
        self.counts["cursor"] += 1

    def _keel(self, _sql: str, _rows: int) -> None:
        self.counts["keel"] += 1

    def _begin(self, _connection: Any) -> None:
        self.counts["begin"] += 1

    def _commit(self, _connection: Any) -> None:
        self.counts["commit"] += 1

    def _rollback(self, _connection: Any) -> None:
        self.counts["rollback"] += 1


def latency_figures(seconds: Sequence[float]) -> dict[str, float]:
    """Median and 99th percentile in milliseconds (inclusive quantiles)."""
    if len(seconds) < 2:
        only = seconds[0] * 1000 if seconds else float("nan")
        return {"p50_ms": only, "p99_ms": only}
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {"p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000}


def minor_to_credits(minor_units: int) -> Decimal:
    return Decimal(minor_units).scaleb(-2)


def utc_now() -> datetime:
    return datetime.now(UTC)


def sqlite_timestamp(moment: datetime) -> str:
    """A timestamp as Keel's UtcDateTime stores it on SQLite: naive UTC text, microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def read_sqlite_timestamp(stored: str) -> datetime:
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)


def sqlite_pragmas(settings: KeelSettings) -> tuple[str, ...]:
    """The PRAGMAs Keel's engine sets on every SQLite connection, in its order."""
    return (
        "PRAGMA journal_mode=WAL",
        "PRAGMA foreign_keys=ON",
        _SYNCHRONOUS_PRAGMAS[settings.sqlite_synchronous],
    )


async def connect_sqlite(database: Database) -> aiosqlite.Connection:
    """A raw aiosqlite connection set up as Keel sets up its own: transactions are begun by
    the caller (isolation_level=None), same busy timeout, same PRAGMAs."""
    settings = database.settings()
    connection = await aiosqlite.connect(
        database.sqlite_path, isolation_level=None, timeout=settings.sqlite_busy_timeout_seconds
    )
    for pragma in sqlite_pragmas(settings):
        await connection.execute(pragma)
    return connection


async def insert_rows(
    engine: AsyncEngine, record: type[Record], rows: Iterable[Mapping[str, Any]]
) -> None:
    """Plain INSERTs into the record's table, in chunks, each one executemany in a transaction
    of its own."""
    chunk: list[Mapping[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == SEED_CHUNK:
            async with engine.begin() as connection:
                await connection.execute(insert(record), chunk)
            chunk = []
    if chunk:
        async with engine.begin() as connection:
            await connection.execute(insert(record), chunk)


@dataclass(frozen=True)
class Account:
    user_id: UUID
    wallet_id: UUID


async def seed_wallets(engine: AsyncEngine, count: int, balance_minor: int) -> list[Account]:
    """`count` users, each with a wallet holding `balance_minor` hundredths, deposited from
    the mint by one ledger entry each, so that the books balance from the start."""
    now = utc_now()
    accounts = [Account(uuid4(), uuid4()) for _ in range(count)]
    entries = [uuid4() for _ in accounts]
    balance = minor_to_credits(balance_minor)
    await insert_rows(
        engine,
        UserRecord,
        (
            {
                "id": account.user_id,
                "email": f"bench{number}@example.com",
                "username": f"bench{number}",
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for number, account in enumerate(accounts)
        ),
    )
    await insert_rows(
        engine,
        WalletRecord,
        (
            {
                "id": account.wallet_id,
                "owner_id": account.user_id,
                "balance": balance,
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            for account in accounts
        ),
    )
    await insert_rows(
        engine,
        LedgerEntryRecord,
        ({"id": entry, "kind": "deposit", "created_at": now} for entry in entries),
    )
    await insert_rows(
        engine,
        PostingRecord,
        (
            posting
            for entry, account in zip(entries, accounts, strict=True)
            for posting in (
                {"entry_id": entry, "account": MINT_ACCOUNT, "delta": -balance},
                {"entry_id": entry, "account": wallet_account(account.wallet_id), "delta": balance},
            )
        ),
    )
    return accounts


async def analyze(database: Database) -> None:
    """Gather PostgreSQL's table statistics after a bulk load.

    Autovacuum gathers them some time after the load; until then the planner guesses (hash
    joins over whole tables where an index would do), so timings would depend on when it ran.
    SQLite plans without statistics unless told to gather them, which Keel never does.
    """
    if database.backend != "postgres":
        return
    connection = await asyncpg.connect(database.url)
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


class BooksOutOfBalance(AssertionError):
    """A benchmark left the database in a state that Keel's rules forbid."""


async def check_books(database: Database, minted_minor: int) -> dict[str, int]:
    """Fail loudly unless the books hold: every credit minted is in a wallet or in escrow,
    postings sum to zero, no balance is negative, and each wallet's balance is the sum of its
    account's postings. Read with plain SQL, past every implementation under test."""
    engine = create_engine(database.settings())
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(**{READ_ONLY_OPTION: True})
            wallets = {
                UUID(str(wallet_id)): int(balance)
                for wallet_id, balance in await connection.execute(
                    text("SELECT id, balance FROM wallets")
                )
            }
            by_account = {
                str(account): int(total)
                for account, total in await connection.execute(
                    text("SELECT account, SUM(delta) FROM ledger_postings GROUP BY account")
                )
            }
            entries = int(await connection.scalar(text("SELECT COUNT(*) FROM ledger_entries")) or 0)
    finally:
        await engine.dispose()
    escrow = sum(total for account, total in by_account.items() if account.startswith("escrow:"))
    problems = []
    if sum(by_account.values()) != 0:
        problems.append(f"ledger postings sum to {sum(by_account.values())}, not 0")
    if -by_account.get(MINT_ACCOUNT, 0) != minted_minor:
        problems.append(f"{-by_account.get(MINT_ACCOUNT, 0)} minted, expected {minted_minor}")
    if sum(wallets.values()) + escrow != minted_minor:
        problems.append(
            f"wallets hold {sum(wallets.values())} and escrow {escrow}: "
            f"not the {minted_minor} minted"
        )
    negative = [wallet for wallet, balance in wallets.items() if balance < 0]
    if negative:
        problems.append(f"negative balances in {len(negative)} wallets")
    drifted = [
        wallet
        for wallet, balance in wallets.items()
        if by_account.get(wallet_account(wallet), 0) != balance
    ]
    if drifted:
        problems.append(f"{len(drifted)} wallet balances differ from their postings")
    if problems:
        raise BooksOutOfBalance(f"{database.backend}: " + "; ".join(problems))
    return {"wallets": len(wallets), "entries": entries, "escrow_minor": escrow}


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def fixed(value: float, places: int = 2) -> str:
    return f"{value:,.{places}f}"
