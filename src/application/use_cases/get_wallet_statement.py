from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import Field

from application.models import Command, Offset, Result
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.ledger import EntryKind

MAX_PAGE_SIZE = 500


class WalletStatementQuery(Command):
    wallet_id: UUID
    limit: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)
    offset: Offset = 0


class StatementLineView(Result):
    entry_id: UUID
    kind: EntryKind
    amount: Decimal
    created_at: datetime


class StatementView(Result):
    wallet_id: UUID
    balance: Decimal
    total: int
    limit: int
    offset: int
    lines: list[StatementLineView]


class GetWalletStatement:
    """A wallet's ledger postings, newest first, one page at a time, with the total count."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, query: WalletStatementQuery) -> StatementView:
        async with self._uow_factory(read_only=True) as uow:
            wallet = await uow.wallets.get(query.wallet_id)
            page = await uow.ledger.statement(
                wallet.account, limit=query.limit, offset=query.offset
            )
        return StatementView(
            wallet_id=wallet.id,
            balance=wallet.balance.value,
            total=page.total,
            limit=query.limit,
            offset=query.offset,
            lines=[
                StatementLineView(
                    entry_id=line.entry_id,
                    kind=line.kind,
                    amount=line.delta,
                    created_at=line.created_at,
                )
                for line in page.lines
            ],
        )
