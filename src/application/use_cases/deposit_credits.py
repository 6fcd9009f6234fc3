from typing import ClassVar
from uuid import UUID

from application.models import Amount, Command
from application.ports.unit_of_work import UnitOfWorkFactory
from application.views import WalletView


class DepositCreditsCommand(Command):
    wallet_id: UUID
    amount: Amount


class DepositCredits:
    """Mint credits into a wallet, recorded as a balanced ledger entry from the mint account."""

    # Everything it decides on is read afresh inside the unit: running it again after a
    # concurrency conflict decides again on the current state.
    safe_to_rerun: ClassVar[bool] = True

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, command: DepositCreditsCommand) -> WalletView:
        async with self._uow_factory() as uow:
            [wallet] = await uow.wallets.get_for_update([command.wallet_id])
            entry = wallet.deposit(command.amount)
            await uow.ledger.append(entry)
            await uow.commit()
        return WalletView.of(wallet)
