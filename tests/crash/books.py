"""The books as stored, read past Keel with a fresh connection, and the invariants they must keep.

Amounts are read as the integer hundredths that Keel stores, so nothing here rounds.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter, defaultdict
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from domain.ledger import MINT_ACCOUNT, EntryKind, wallet_account

WALLETS = "SELECT id, balance, version FROM wallets"
ENTRIES = "SELECT id, kind FROM ledger_entries"
POSTINGS = "SELECT entry_id, account, delta FROM ledger_postings"


@dataclass(frozen=True)
class StoredWallet:
    balance: int
    version: int


@dataclass(frozen=True)
class StoredPosting:
    entry_id: UUID
    account: str
    delta: int


@dataclass(frozen=True)
class Books:
    wallets: dict[UUID, StoredWallet]
    entries: dict[UUID, str]
    postings: list[StoredPosting]

    @classmethod
    def of_rows(cls, wallets: list[Any], entries: list[Any], postings: list[Any]) -> Books:
        # SQLite stores ids as 32 hex digits, PostgreSQL as uuid: str() then UUID() reads both.
        return cls(
            wallets={
                UUID(str(id_)): StoredWallet(int(balance), int(version))
                for id_, balance, version in wallets
            },
            entries={UUID(str(id_)): str(kind) for id_, kind in entries},
            postings=[
                StoredPosting(UUID(str(entry_id)), str(account), int(delta))
                for entry_id, account, delta in postings
            ],
        )


def sqlite_books(path: Path) -> Books:
    """The books of a SQLite file, read on a fresh read-only connection."""
    with closing(read_only_sqlite(path)) as connection:
        return Books.of_rows(
            connection.execute(WALLETS).fetchall(),
            connection.execute(ENTRIES).fetchall(),
            connection.execute(POSTINGS).fetchall(),
        )


def sqlite_health(path: Path) -> tuple[str, str]:
    """`PRAGMA integrity_check` and the journal mode of a SQLite file."""
    with closing(read_only_sqlite(path)) as connection:
        [(integrity,)] = connection.execute("PRAGMA integrity_check").fetchall()
        [(journal_mode,)] = connection.execute("PRAGMA journal_mode").fetchall()
        return str(integrity), str(journal_mode)


def read_only_sqlite(path: Path) -> sqlite3.Connection:
    # Read-only: checking must not checkpoint the WAL away, so the next worker finds the file
    # exactly as the killed one left it and has to recover it itself.
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


async def postgres_books(url: str) -> Books:
    """The books of a PostgreSQL database, read in one snapshot on a fresh connection."""
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            return Books.of_rows(
                await connection.fetch(WALLETS),
                await connection.fetch(ENTRIES),
                await connection.fetch(POSTINGS),
            )
    finally:
        await connection.close()


async def wait_for_other_connections_to_end(url: str, timeout_seconds: float = 30) -> None:
    """Wait until the server has noticed the killed worker's connections and ended them.

    Until then a COMMIT the worker sent just before dying may still be applied, after the
    books were read, and be counted against the next round.
    """
    others = (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND backend_type = 'client backend'"
    )
    connection = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + timeout_seconds
        while (count := await connection.fetchval(others)) > 0:
            assert time.monotonic() < deadline, f"{count} connections outlived the killed worker"
            await asyncio.sleep(0.02)
    finally:
        await connection.close()


def broken_invariants(books: Books, minted: int) -> list[str]:
    """What is wrong with the books of wallets that only deposits and transfers changed."""
    problems: list[str] = []
    by_entry: defaultdict[UUID, list[StoredPosting]] = defaultdict(list)
    by_account: defaultdict[str, list[int]] = defaultdict(list)
    for posting in books.postings:
        by_entry[posting.entry_id].append(posting)
        by_account[posting.account].append(posting.delta)

    for entry_id, kind in books.entries.items():
        postings = by_entry.get(entry_id, [])
        if len(postings) != 2:
            problems.append(f"half-applied entry: {kind} {entry_id} has {len(postings)} postings")
        elif sum(p.delta for p in postings) != 0:
            problems.append(f"unbalanced entry: the postings of {entry_id} do not sum to zero")
    for orphan in by_entry.keys() - books.entries.keys():
        problems.append(f"postings without their entry: {orphan}")

    known = {MINT_ACCOUNT, *(wallet_account(wallet_id) for wallet_id in books.wallets)}
    for account in by_account.keys() - known:
        problems.append(f"postings on an account that is neither a wallet nor the mint: {account}")

    for wallet_id, wallet in books.wallets.items():
        deltas = by_account.get(wallet_account(wallet_id), [])
        if wallet.balance != sum(deltas):
            problems.append(
                f"wallet {wallet_id} holds {wallet.balance} hundredths, its postings {sum(deltas)}"
            )
        if wallet.balance < 0:
            problems.append(f"wallet {wallet_id} holds a negative balance: {wallet.balance}")
        # Each unit that changes a wallet bumps its version once and posts to it once.
        if wallet.version != 1 + len(deltas):
            problems.append(
                f"wallet {wallet_id} is at version {wallet.version} after {len(deltas)} postings:"
                " a change without its entry, or an entry without its change"
            )

    minted_in_ledger = -sum(by_account.get(MINT_ACCOUNT, []))
    held = sum(wallet.balance for wallet in books.wallets.values())
    if not minted_in_ledger == held == minted:
        problems.append(
            f"credits are not conserved: {minted} minted, the mint account says"
            f" {minted_in_ledger}, the wallets hold {held} (hundredths)"
        )
    return problems


def acknowledgement_problems(books: Books, acknowledged: list[UUID]) -> list[str]:
    """Every acknowledged transfer is in the books, once, as a transfer."""
    problems = [
        f"entry {entry_id} was acknowledged {count} times"
        for entry_id, count in Counter(acknowledged).items()
        if count > 1
    ]
    for entry_id in acknowledged:
        kind = books.entries.get(entry_id)
        if kind != EntryKind.TRANSFER:
            problems.append(f"acknowledged transfer {entry_id} is missing (found: {kind})")
    return problems


def transfer_entries(books: Books) -> set[UUID]:
    return {entry_id for entry_id, kind in books.entries.items() if kind == EntryKind.TRANSFER}


def read_acknowledged(ack_log: Path) -> list[UUID]:
    """The entry ids of the acknowledgement log; a torn last line was never acknowledged."""
    if not ack_log.exists():
        return []
    lines = ack_log.read_text().split("\n")
    # After the last newline comes either nothing or a line a kill cut short.
    return [UUID(line) for line in lines[:-1]]
