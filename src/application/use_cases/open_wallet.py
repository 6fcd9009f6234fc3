from uuid import UUID

from application.models import Command
from application.ports.unit_of_work import UnitOfWorkFactory
from application.views import WalletView
from domain.wallets import Wallet


class OpenWalletCommand(Command):
    owner_id: UUID


class OpenWallet:
    """Open the one wallet of an active user, empty. A second wallet is a `Conflict`."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, command: OpenWalletCommand) -> WalletView:
        async with self._uow_factory() as uow:
            owner = await uow.users.get(command.owner_id)
            wallet = Wallet.open_for(owner)
            await uow.wallets.add(wallet)
            await uow.commit()
        return WalletView.of(wallet)
