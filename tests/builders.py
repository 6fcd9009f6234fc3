"""Builders of real domain objects and stored state for tests, through the public ports."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from application.ports.unit_of_work import UnitOfWorkFactory
from domain.credits import Credits
from domain.users import User
from domain.wallets import Wallet


def new_user() -> User:
    """A user whose email and username are unique in any test database."""
    tag = uuid4().hex[:12]
    return User.register(f"user-{tag}@example.com", f"user_{tag}")


async def stored_wallet(uow_factory: UnitOfWorkFactory, balance: str = "0") -> Wallet:
    """A committed wallet of a new user, holding `balance` credits minted into it."""
    async with uow_factory() as uow:
        user = new_user()
        wallet = Wallet.open_for(user)
        await uow.users.add(user)
        await uow.wallets.add(wallet)
        if Decimal(balance) > 0:
            await uow.ledger.append(wallet.deposit(Credits.positive(balance)))
        await uow.commit()
    return wallet


async def balance_of(uow_factory: UnitOfWorkFactory, wallet: Wallet) -> Decimal:
    """The committed balance, read in a unit of its own."""
    async with uow_factory(read_only=True) as uow:
        return (await uow.wallets.get(wallet.id)).balance.value


async def no_wait(_: float) -> None:
    """A retry runner's sleep, skipped: tests need the retries, not the waiting."""
