"""Repositories that map SQLAlchemy records to and from Keel's aggregates."""

from infrastructure.database.repositories.delivery import (
    SqlIdempotencyRepository,
    SqlOutboxRepository,
    SqlProcessedMessageRepository,
)
from infrastructure.database.repositories.ledger import SqlLedgerRepository
from infrastructure.database.repositories.tasks import SqlTaskRepository
from infrastructure.database.repositories.users import SqlUserRepository
from infrastructure.database.repositories.wallets import SqlWalletRepository

__all__ = [
    "SqlIdempotencyRepository",
    "SqlLedgerRepository",
    "SqlOutboxRepository",
    "SqlProcessedMessageRepository",
    "SqlTaskRepository",
    "SqlUserRepository",
    "SqlWalletRepository",
]
