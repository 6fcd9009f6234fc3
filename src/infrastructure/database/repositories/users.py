from __future__ import annotations

from sqlalchemy import select

from application.ports.repositories import UserRepository
from domain.users import User
from infrastructure.database.records import UserRecord
from infrastructure.database.repositories.records import SqlRepository


class SqlUserRepository(SqlRepository[User, UserRecord], UserRepository):
    record_type = UserRecord

    def _new_record(self, aggregate: User) -> UserRecord:
        return UserRecord(id=aggregate.id)

    def _to_domain(self, record: UserRecord) -> User:
        return User(
            id=record.id,
            email=record.email,
            username=record.username,
            active=record.active,
            created_at=record.created_at,
            updated_at=record.updated_at,
            api_token_hash=record.api_token_hash,
        )

    def _write(self, aggregate: User, record: UserRecord) -> None:
        record.email = aggregate.email
        record.username = aggregate.username
        record.active = aggregate.active
        record.created_at = aggregate.created_at
        record.updated_at = aggregate.updated_at
        record.api_token_hash = aggregate.api_token_hash

    async def _load_by_api_token_hash(self, token_hash: str) -> User | None:
        query = select(UserRecord).where(UserRecord.api_token_hash == token_hash)
        record = await self._session.scalar(query)
        return None if record is None else self._adopt(record)
