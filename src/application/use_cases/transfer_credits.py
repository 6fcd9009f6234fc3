from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from application.models import Amount, Command, Result
from application.ports.unit_of_work import UnitOfWorkFactory


class TransferCreditsCommand(Command):
    source_wallet_id: UUID
    target_wallet_id: UUID
    amount: Amount


class TransferReceipt(Result):
    entry_id: UUID
    amount: Decimal
    source_balance: Decimal
    target_balance: Decimal


class TransferCredits:
    """Move credits between two wallets: both balances and the ledger change, or none does."""

    # Everything it decides on is read afresh inside the unit: running it again after a
    # concurrency conflict decides again on the current state.
    safe_to_rerun: ClassVar[bool] = True

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, command: TransferCreditsCommand) -> TransferReceipt:
        async with self._uow_factory() as uow:
            source, target = await uow.wallets.get_for_update(
                [command.source_wallet_id, command.target_wallet_id]
            )
            entry = source.transfer_to(target, command.amount)
            await uow.ledger.append(entry)
            await uow.commit()
        return TransferReceipt(
            entry_id=entry.id,
            amount=command.amount.value,
            source_balance=source.balance.value,
            target_balance=target.balance.value,
        )
