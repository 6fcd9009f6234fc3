from __future__ import annotations

from sqlalchemy import Dialect, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from application.errors import ReadOnlyUnitError
from application.ports.repositories import LedgerRepository, StatementPage
from domain.ledger import EntryKind, LedgerEntry, StatementLine
from infrastructure.database.channel import StatementChannel
from infrastructure.database.records import LedgerEntryRecord, PostingRecord
from infrastructure.database.statements import DriverStatement, compile_statement


class SqlLedgerRepository(LedgerRepository):
    def __init__(
        self, session: AsyncSession, channel: StatementChannel, *, read_only: bool = False
    ) -> None:
        self._session = session
        self._channel = channel
        self._read_only = read_only

    async def append(self, entry: LedgerEntry) -> None:
        if self._read_only:
            raise ReadOnlyUnitError("a read-only unit of work cannot append to the ledger")
        # Written when the unit flushes, with its other writes: entries never change.
        batch = self._channel.pending
        batch.add(
            self._channel.statement("insert entry", _insert_entry),
            [{"id": entry.id, "kind": entry.kind.value, "created_at": entry.created_at}],
        )
        batch.add(
            self._channel.statement("insert postings", _insert_postings),
            [
                {"entry_id": entry.id, "account": posting.account, "delta": posting.delta}
                for posting in entry.postings
            ],
        )

    async def statement(self, account: str, *, limit: int, offset: int) -> StatementPage:
        await self._channel.write_pending()
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


def _insert_entry(dialect: Dialect) -> DriverStatement:
    return compile_statement(
        insert(LedgerEntryRecord), dialect, column_keys=("id", "kind", "created_at")
    )


def _insert_postings(dialect: Dialect) -> DriverStatement:
    return compile_statement(
        insert(PostingRecord), dialect, column_keys=("entry_id", "account", "delta")
    )
