from uuid import UUID

from application.models import Command
from application.ports.unit_of_work import UnitOfWorkFactory
from application.views import WalletView


class GetWalletQuery(Command):
    wallet_id: UUID


class GetWallet:
    """A wallet's current balance and version."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, query: GetWalletQuery) -> WalletView:
        async with self._uow_factory(read_only=True) as uow:
            wallet = await uow.wallets.get(query.wallet_id)
        return WalletView.of(wallet)
