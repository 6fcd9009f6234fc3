"""The `keel` console script run as a real subprocess, and what end-to-end tests check on it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The packages have no __main__ module, so `python -m` cannot run the CLI; the console script
# is installed next to the interpreter of the virtualenv instead.
KEEL = Path(sys.executable).with_name("keel")

# Exit statuses are spelled out rather than imported: scripts depend on the numbers.
REFUSED = 1
USAGE_ERROR = 2
DATABASE_NOT_READY = 3
DATABASE_UNAVAILABLE = 69
BAD_CONFIGURATION = 78

TABLES = (
    "users",
    "wallets",
    "ledger_entries",
    "ledger_postings",
    "tasks",
    "task_dependencies",
    "outbox_messages",
    "processed_messages",
    "idempotency_records",
)

Rows = dict[str, list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Keel:
    """The `keel` command with KEEL_DATABASE_URL pointing at one SQLite file."""

    database: Path

    def run(
        self, *args: str, stdin: str | None = None, **environment: str
    ) -> subprocess.CompletedProcess[str]:
        """Run `keel ARGS`, fed `stdin`; other keyword arguments set environment variables."""
        return subprocess.run(
            [str(KEEL), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=self.environment(**environment),
        )

    def environment(self, **more: str) -> dict[str, str]:
        """The environment `keel` runs in: this one, pointed at the database."""
        return {**os.environ, "KEEL_DATABASE_URL": f"sqlite:///{self.database}", **more}

    def ok(self, *args: str, stdin: str | None = None) -> str:
        """The stdout of a command that must succeed."""
        result = self.run(*args, stdin=stdin)
        assert result.returncode == 0, f"keel {' '.join(args)} failed: {result.stderr}"
        assert result.stderr == ""
        return result.stdout

    def json(self, *args: str) -> dict[str, Any]:
        """The parsed `--json` output of a command that must succeed."""
        parsed = json.loads(self.ok(*args, "--json"))
        assert isinstance(parsed, dict)
        return parsed

    def tables(self) -> set[str]:
        with closing(self._connect()) as connection:
            names = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            return {name for (name,) in names}

    def rows(self) -> Rows:
        """Every row of Keel's tables, read past the CLI, to tell whether anything was written."""
        with closing(self._connect()) as connection:
            return {
                # Two columns: task_dependencies is keyed by both.
                table: connection.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
                for table in TABLES
            }

    def copy_to(self, database: Path) -> Keel:
        """The CLI on a copy of this database at `database`, which no write here reaches."""
        # The backup API copies a consistent snapshot, including what is still in the WAL file.
        with (
            closing(sqlite3.connect(self.database)) as source,
            closing(sqlite3.connect(database)) as target,
        ):
            source.backup(target)
        return Keel(database)

    def _connect(self) -> sqlite3.Connection:
        # Read-only, so that checking the database can neither create nor change it.
        return sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)


def assert_refused(result: subprocess.CompletedProcess[str], status: int, says: str) -> None:
    """One `error:` line on stderr that contains `says`, no traceback, and exit `status`."""
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    assert says in result.stderr
    assert result.stdout == ""
    assert result.returncode == status, result.stderr


@dataclass(frozen=True)
class Seeded:
    """A database that the CLI migrated and filled, with what the CLI printed while filling it.

    Alice's wallet got 100.00, sent 30.50 to Bob's and got 0.75: it holds 70.25 in three
    postings; Bob's holds 30.50 in one.
    """

    keel: Keel
    alice: dict[str, Any]
    bob: dict[str, Any]
    alice_wallet: dict[str, Any]
    bob_wallet: dict[str, Any]
    first_deposit: dict[str, Any]
    transfer: dict[str, Any]
    second_deposit: dict[str, Any]

    @property
    def alice_wallet_id(self) -> str:
        return str(self.alice_wallet["id"])

    @property
    def bob_wallet_id(self) -> str:
        return str(self.bob_wallet["id"])
