"""Concurrent writers through the container: no lock error reaches a caller, no update is lost."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from uuid import UUID

from sqlalchemy import text

from application.use_cases import (
    DepositCreditsCommand,
    OpenWalletCommand,
    RegisterUserCommand,
    TransferCreditsCommand,
    TransferReceipt,
)
from application.views import WalletView
from domain.errors import InsufficientFunds
from entrypoints.container import Container

OPENING_BALANCE = Decimal("1000.00")


async def open_wallets(container: Container, count: int) -> list[WalletView]:
    wallets = []
    for number in range(count):
        user = await container.register_user()(
            RegisterUserCommand.model_validate(
                {"email": f"user{number}@example.com", "username": f"user{number}"}
            )
        )
        wallet = await container.open_wallet()(OpenWalletCommand(owner_id=user.id))
        command = DepositCreditsCommand.model_validate(
            {"wallet_id": wallet.id, "amount": OPENING_BALANCE}
        )
        wallets.append(await container.deposit_credits()(command))
    return wallets


async def transfer(
    container: Container, source: UUID, target: UUID, amount: str
) -> TransferReceipt:
    command = TransferCreditsCommand.model_validate(
        {"source_wallet_id": source, "target_wallet_id": target, "amount": amount}
    )
    receipt: TransferReceipt = await container.transfer_credits()(command)
    return receipt


async def stored_balances(container: Container) -> dict[UUID, Decimal]:
    """Balances read past Keel: plain SQL on a connection of its own (hundredths stored)."""
    async with container.engine().connect() as connection:
        rows = await connection.execute(text("SELECT id, balance FROM wallets"))
        return {UUID(str(row.id)): Decimal(row.balance) / 100 for row in rows}


async def ledger_facts(container: Container) -> tuple[int, list[UUID]]:
    """The sum of every posting (in hundredths) and the ids of the transfer entries."""
    async with container.engine().connect() as connection:
        total = await connection.scalar(text("SELECT COALESCE(SUM(delta), 0) FROM ledger_postings"))
        entries = await connection.scalars(
            text("SELECT id FROM ledger_entries WHERE kind = 'transfer'")
        )
        return int(total or 0), [UUID(str(entry)) for entry in entries]


async def test_twenty_concurrent_transfers_from_one_wallet_lose_no_update(
    container: Container,
) -> None:
    source, *targets = await open_wallets(container, 5)
    receipts = await asyncio.gather(
        *(transfer(container, source.id, targets[n % 4].id, "1.25") for n in range(20))
    )

    balances = await stored_balances(container)
    assert balances[source.id] == OPENING_BALANCE - 20 * Decimal("1.25")
    assert sum(balances.values()) == 5 * OPENING_BALANCE
    # Each transfer saw the balance its predecessor left: every value from 998.75 down to 975.
    assert sorted(receipt.source_balance for receipt in receipts) == sorted(
        OPENING_BALANCE - n * Decimal("1.25") for n in range(1, 21)
    )


async def test_sixteen_workers_doing_two_thousand_random_transfers_keep_the_books(
    container: Container,
) -> None:
    wallets = await open_wallets(container, 20)
    rng = random.Random(16)
    succeeded: list[TransferReceipt] = []
    refused: list[InsufficientFunds] = []

    async def worker() -> None:
        for _ in range(2000 // 16):
            source, target = rng.sample(wallets, 2)
            amount = f"{rng.randint(1, 20000) / 100:.2f}"
            try:
                succeeded.append(await transfer(container, source.id, target.id, amount))
            except InsufficientFunds as refusal:
                refused.append(refusal)

    # Any other error (a deadlock, a serialization failure, a lock timeout) fails the test here.
    await asyncio.gather(*(worker() for _ in range(16)))

    balances = await stored_balances(container)
    posting_sum, transfer_entries = await ledger_facts(container)
    assert len(succeeded) + len(refused) == 2000
    assert len(succeeded) > 1500
    assert sum(balances.values()) == 20 * OPENING_BALANCE
    assert min(balances.values()) >= 0
    assert posting_sum == 0
    assert sorted(transfer_entries) == sorted(receipt.entry_id for receipt in succeeded)
    assert container.retry_counter().exhausted == 0
