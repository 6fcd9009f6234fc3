"""Wallets, read and written with Keel's own compiled statements: they are on the hot path."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Dialect, bindparam, insert, select, update

from application.ports.repositories import WalletRepository
from domain.credits import Credits
from domain.wallets import Wallet
from infrastructure.database.channel import StatementChannel
from infrastructure.database.records import Record
from infrastructure.database.repositories.records import chunked
from infrastructure.database.statements import DriverStatement, compile_statement

_WALLETS = Record.metadata.tables["wallets"]
_COLUMNS = ("id", "owner_id", "balance", "version", "created_at", "updated_at")


@dataclass(frozen=True, slots=True)
class _Stored:
    """What the wallet's row holds inside this unit's transaction."""

    balance: Decimal
    updated_at: datetime
    version: int


class SqlWalletRepository(WalletRepository):
    """Writes happen when the unit flushes: new wallets inserted, changed ones updated once
    per unit to the version after the one loaded, provided the row still has the version it
    had when this unit last wrote or read it (else `ConcurrencyConflict`)."""

    def __init__(self, channel: StatementChannel, *, read_only: bool) -> None:
        super().__init__()
        self._channel = channel
        self._read_only = read_only
        self._stored: dict[UUID, _Stored | None] = {}
        """Every wallet seen; None for one added and not written yet."""

    async def _add(self, aggregate: Wallet) -> None:
        self._stored[aggregate.id] = None

    async def _load(self, ascending_ids: Sequence[UUID], *, lock: bool) -> list[Wallet]:
        rows = await self._rows_by_ids(ascending_ids, lock=lock and not self._read_only)
        return [self._adopt(row) for row in rows]

    async def _rows_by_ids(
        self, ascending_ids: Sequence[UUID], *, lock: bool
    ) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for chunk in chunked(ascending_ids):
            statement = self._channel.statement(
                ("wallets by ids", len(chunk), lock),
                functools.partial(_by_ids, count=len(chunk), lock=lock),
            )
            values = {f"id_{number}": wallet_id for number, wallet_id in enumerate(chunk)}
            rows += await self._channel.fetch(statement, values)
        return rows

    async def _load_by_owner(self, owner_id: UUID) -> Wallet | None:
        lock = not self._read_only
        statement = self._channel.statement(
            ("wallet by owner", lock), lambda dialect: _by_owner(dialect, lock=lock)
        )
        rows = await self._channel.fetch(statement, {"owner_id": owner_id})
        return self._adopt(rows[0]) if rows else None

    def _adopt(self, row: Sequence[Any]) -> Wallet:
        wallet_id, owner_id, balance, version, created_at, updated_at = row
        self._stored[wallet_id] = _Stored(balance, updated_at, version)
        return Wallet(
            id=wallet_id,
            owner_id=owner_id,
            balance=Credits(balance),
            version=version,
            created_at=created_at,
            updated_at=updated_at,
        )

    def _forget(self, aggregate_id: UUID) -> None:
        self._stored.pop(aggregate_id, None)

    def queue_writes(self) -> None:
        """Put the inserts and updates the unit's wallets need into the channel's batch."""
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        written: dict[UUID, _Stored] = {}
        for wallet_id, wallet in self.seen.items():
            stored = self._stored[wallet_id]
            now = _Stored(wallet.balance.value, wallet.updated_at, wallet.version)
            if stored is None:
                inserts.append(
                    {
                        "id": wallet.id,
                        "owner_id": wallet.owner_id,
                        "balance": now.balance,
                        "version": now.version,
                        "created_at": wallet.created_at,
                        "updated_at": now.updated_at,
                    }
                )
            elif (now.balance, now.updated_at) != (stored.balance, stored.updated_at):
                # One unit, one new version, however often it flushes.
                now = _Stored(now.balance, now.updated_at, wallet.version + 1)
                updates.append(
                    {
                        "balance": now.balance,
                        "version": now.version,
                        "updated_at": now.updated_at,
                        "wallet_id": wallet_id,
                        "stored_version": stored.version,
                    }
                )
            else:
                continue
            written[wallet_id] = now
        if not written:
            return
        batch = self._channel.pending
        if inserts:
            batch.add(self._channel.statement("insert wallet", _insert), inserts)
        if updates:
            update = self._channel.statement("update wallet", _update)
            batch.add(update, updates, each_changes_one_row=True)
        batch.on_written.append(lambda: self._stored.update(written))

    def read_versions(self) -> None:
        """Take the versions written at commit back into the aggregates."""
        for wallet_id, wallet in self.seen.items():
            stored = self._stored[wallet_id]
            if stored is not None:
                wallet.version = stored.version

    async def reload_expired(self) -> None:
        """Reread the rows a rolled-back savepoint put back: they hold its start's state."""
        written = sorted(wallet_id for wallet_id, stored in self._stored.items() if stored)
        for row in await self._rows_by_ids(written, lock=False):
            wallet_id, _owner, balance, version, _created, updated_at = row
            self._stored[wallet_id] = _Stored(balance, updated_at, version)


def _by_ids(dialect: Dialect, count: int, *, lock: bool) -> DriverStatement:
    wallet_id = _WALLETS.c.id
    query = (
        select(*(_WALLETS.c[name] for name in _COLUMNS))
        .where(wallet_id.in_([bindparam(f"id_{n}", type_=wallet_id.type) for n in range(count)]))
        .order_by(wallet_id)
    )
    # FOR UPDATE locks rows on PostgreSQL (SQLite renders none: BEGIN IMMEDIATE locked
    # the whole file).
    return compile_statement(query.with_for_update() if lock else query, dialect)


def _by_owner(dialect: Dialect, *, lock: bool) -> DriverStatement:
    query = select(*(_WALLETS.c[name] for name in _COLUMNS)).where(
        _WALLETS.c.owner_id == bindparam("owner_id")
    )
    return compile_statement(query.with_for_update() if lock else query, dialect)


def _insert(dialect: Dialect) -> DriverStatement:
    return compile_statement(insert(_WALLETS), dialect, column_keys=_COLUMNS)


def _update(dialect: Dialect) -> DriverStatement:
    statement = update(_WALLETS).where(
        _WALLETS.c.id == bindparam("wallet_id"),
        _WALLETS.c.version == bindparam("stored_version"),
    )
    return compile_statement(statement, dialect, column_keys=("balance", "version", "updated_at"))
