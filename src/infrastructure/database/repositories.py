"""Repositories that map SQLAlchemy records to and from Keel's aggregates."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from application.ports.repositories import (
    LedgerRepository,
    StatementPage,
    UserRepository,
    WalletRepository,
)
from domain.credits import Credits
from domain.ledger import EntryKind, LedgerEntry, StatementLine
from domain.users import User
from domain.wallets import Wallet
from infrastructure.database.records import (
    LedgerEntryRecord,
    PostingRecord,
    UserRecord,
    WalletRecord,
)


class SqlUserRepository(UserRepository):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__()
        self._session = session
        self._records: dict[UUID, UserRecord] = {}

    async def _add(self, aggregate: User) -> None:
        record = UserRecord(id=aggregate.id)
        self._write(aggregate, record)
        self._session.add(record)
        self._records[aggregate.id] = record

    async def _get(self, aggregate_id: UUID) -> User | None:
        record = await self._session.get(UserRecord, aggregate_id)
        if record is None:
            return None
        self._records[aggregate_id] = record
        return User(
            id=record.id,
            email=record.email,
            username=record.username,
            active=record.active,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )

    def write_back(self) -> None:
        """Copy every seen user into its record, so a change needs no explicit save."""
        for user_id, user in self.seen.items():
            self._write(user, self._records[user_id])

    @staticmethod
    def _write(user: User, record: UserRecord) -> None:
        record.email = user.email
        record.username = user.username
        record.active = user.active
        record.created_at = user.created_at
        record.updated_at = user.updated_at


class SqlWalletRepository(WalletRepository):
    def __init__(self, session: AsyncSession, *, read_only: bool) -> None:
        super().__init__()
        self._session = session
        self._read_only = read_only
        self._records: dict[UUID, WalletRecord] = {}

    async def _add(self, aggregate: Wallet) -> None:
        record = WalletRecord(id=aggregate.id, owner_id=aggregate.owner_id)
        self._write(aggregate, record)
        self._session.add(record)
        self._records[aggregate.id] = record

    async def _get(self, aggregate_id: UUID) -> Wallet | None:
        record = await self._session.get(WalletRecord, aggregate_id)
        return None if record is None else self._load(record)

    async def _lock(self, ascending_ids: Sequence[UUID]) -> list[Wallet]:
        query = (
            select(WalletRecord).where(WalletRecord.id.in_(ascending_ids)).order_by(WalletRecord.id)
        )
        # FOR UPDATE locks rows on PostgreSQL (SQLite renders none: BEGIN IMMEDIATE locked the
        # whole file). A read-only unit changes nothing, so it has nothing to lock.
        if not self._read_only:
            query = query.with_for_update()
        records = (await self._session.scalars(query)).all()
        return [self._load(record) for record in records]

    def write_back(self) -> None:
        """Copy every seen wallet into its record, so a change needs no explicit save."""
        for wallet_id, wallet in self.seen.items():
            self._write(wallet, self._records[wallet_id])

    def read_versions(self) -> None:
        """Take the versions the database assigned at flush back into the aggregates."""
        for wallet_id, wallet in self.seen.items():
            wallet.version = self._records[wallet_id].version

    def _load(self, record: WalletRecord) -> Wallet:
        self._records[record.id] = record
        return Wallet(
            id=record.id,
            owner_id=record.owner_id,
            balance=Credits(record.balance),
            version=record.version,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )

    @staticmethod
    def _write(wallet: Wallet, record: WalletRecord) -> None:
        record.balance = wallet.balance.value
        record.created_at = wallet.created_at
        record.updated_at = wallet.updated_at


class SqlLedgerRepository(LedgerRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def append(self, entry: LedgerEntry) -> None:
        self._session.add(
            LedgerEntryRecord(id=entry.id, kind=entry.kind.value, created_at=entry.created_at)
        )
        self._session.add_all(
            PostingRecord(entry_id=entry.id, account=posting.account, delta=posting.delta)
            for posting in entry.postings
        )

    async def statement(self, account: str, *, limit: int, offset: int) -> StatementPage:
        await self._session.flush()
        total = await self._session.scalar(
            select(func.count()).select_from(PostingRecord).where(PostingRecord.account == account)
        )
        rows = await self._session.execute(
            select(
                PostingRecord.entry_id,
                LedgerEntryRecord.kind,
                PostingRecord.delta,
                LedgerEntryRecord.created_at,
            )
            .join(LedgerEntryRecord, LedgerEntryRecord.id == PostingRecord.entry_id)
            .where(PostingRecord.account == account)
            .order_by(PostingRecord.id.desc())
            .limit(limit)
            .offset(offset)
        )
        lines = [
            StatementLine(entry_id=entry_id, kind=EntryKind(kind), delta=delta, created_at=created)
            for entry_id, kind, delta, created in rows
        ]
        return StatementPage(lines=lines, total=total or 0)
