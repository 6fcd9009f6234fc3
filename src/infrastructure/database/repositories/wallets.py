from __future__ import annotations

from uuid import UUID

from application.ports.repositories import WalletRepository
from domain.credits import Credits
from domain.wallets import Wallet
from infrastructure.database.records import WalletRecord
from infrastructure.database.repositories.records import SqlRepository


class SqlWalletRepository(SqlRepository[Wallet, WalletRecord], WalletRepository):
    record_type = WalletRecord

    async def _load_by_owner(self, owner_id: UUID) -> Wallet | None:
        query = self._select().where(WalletRecord.owner_id == owner_id)
        if not self._read_only:
            query = query.with_for_update()
        record = (await self._session.scalars(query)).one_or_none()
        return None if record is None else self._adopt(record)

    def _new_record(self, aggregate: Wallet) -> WalletRecord:
        return WalletRecord(id=aggregate.id, owner_id=aggregate.owner_id, version=aggregate.version)

    def _to_domain(self, record: WalletRecord) -> Wallet:
        return Wallet(
            id=record.id,
            owner_id=record.owner_id,
            balance=Credits(record.balance),
            version=record.version,
            created_at=record.created_at,
            updated_at=record.updated_at,
        )

    def _write(self, aggregate: Wallet, record: WalletRecord) -> None:
        record.balance = aggregate.balance.value
        record.created_at = aggregate.created_at
        record.updated_at = aggregate.updated_at

    def _read_version(self, aggregate: Wallet, record: WalletRecord) -> None:
        aggregate.version = record.version
