"""SQLAlchemy records: how Keel's aggregates are laid out in tables. Never leave this package."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from infrastructure.database.types import MinorUnits, UtcDateTime

# Named constraints: migrations can drop them, and errors can be traced back to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Record(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UserRecord(Record):
    __tablename__ = "users"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    active: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # SHA-256 hex of the user's API token; the token itself is never stored.
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)


class WalletRecord(Record):
    __tablename__ = "wallets"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"), unique=True)
    balance: Mapped[Decimal] = mapped_column(MinorUnits)
    version: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

    # Keel sets the next version itself (once per unit); a stale write updates no row.
    __mapper_args__ = {  # noqa: RUF012 - read once by the mapper
        "version_id_col": version,
        "version_id_generator": False,
    }


class TaskRecord(Record):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("bounty >= 0", name="bounty_not_negative"),
        # One index per filter, each ending in the sort's tie-breaker.
        Index(None, "created_at", "id"),
        Index(None, "updated_at", "id"),
        Index(None, "title", "id"),
        Index(None, "status", "created_at", "id"),
        Index(None, "bounty", "id"),
        Index(None, "assignee_id", "created_at"),
        Index(None, "creator_id", "created_at"),
        Index(None, "parent_id", "created_at"),
    )

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    creator_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"))
    assignee_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id"))
    parent_id: Mapped[UUID | None] = mapped_column(ForeignKey("tasks.id"))
    bounty: Mapped[Decimal] = mapped_column(MinorUnits)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column()

    # Loaded only on purpose (selectinload): under asyncio a lazy load cannot happen.
    dependency_links: Mapped[list[TaskDependencyRecord]] = relationship(
        foreign_keys="TaskDependencyRecord.task_id", lazy="raise", cascade="all, delete-orphan"
    )
    # Never loaded; declared so that a flush inserts the users a new task refers to first.
    creator: Mapped[UserRecord] = relationship(foreign_keys=[creator_id], lazy="raise")
    assignee: Mapped[UserRecord | None] = relationship(foreign_keys=[assignee_id], lazy="raise")

    # Keel sets the next version itself (once per unit); a stale write updates no row.
    __mapper_args__ = {  # noqa: RUF012 - read once by the mapper
        "version_id_col": version,
        "version_id_generator": False,
    }


class TaskDependencyRecord(Record):
    """Task `task_id` cannot be done before task `depends_on_id` is."""

    __tablename__ = "task_dependencies"

    task_id: Mapped[UUID] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    depends_on_id: Mapped[UUID] = mapped_column(
        ForeignKey("tasks.id"), primary_key=True, index=True
    )


class LedgerEntryRecord(Record):
    __tablename__ = "ledger_entries"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PostingRecord(Record):
    __tablename__ = "ledger_postings"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta_not_zero"),
        Index(None, "account", "id"),
    )

    # Increasing with every posting, so "newest first" is a plain descending order.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    entry_id: Mapped[UUID] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    account: Mapped[str] = mapped_column(String(64))
    delta: Mapped[Decimal] = mapped_column(MinorUnits)


class OutboxMessageRecord(Record):
    """A domain event written with the unit that raised it, until every handler has had it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column()
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ProcessedMessageRecord(Record):
    """Handler `handler` has applied message `message_id`: a second delivery changes nothing."""

    __tablename__ = "processed_messages"

    message_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    handler: Mapped[str] = mapped_column(String(200), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class IdempotencyRecord(Record):
    """The first successful run of a command under `key`: what it was, and what it returned."""

    __tablename__ = "idempotency_records"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    operation: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
