"""Idempotency keys apply a command once, on every backend, even when a COMMIT's outcome is lost."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.errors import IdempotencyKeyReused, RetryableError
from application.idempotency import Idempotent
from application.ports.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory
from application.retry import RetryCounter, Retrying, RetryPolicy, RetryRunner
from application.use_cases import (
    DepositCredits,
    DepositCreditsCommand,
    TransferCredits,
    TransferCreditsCommand,
)
from application.views import WalletView
from domain.errors import InsufficientFunds, InvalidValue
from tests.builders import balance_of, no_wait, stored_wallet


def retried(use_case: Idempotent[WalletView]) -> Retrying[..., WalletView]:
    return Retrying(use_case, RetryRunner(RetryPolicy(), RetryCounter(), sleep=no_wait))


class CommitOutcomeLost:
    """Units whose first COMMIT succeeds, after which the caller is told the connection broke."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory
        self.lost = 0

    def __call__(self, *, read_only: bool = False) -> AbstractUnitOfWork:
        uow = self._uow_factory(read_only=read_only)
        commit = uow.commit

        async def commit_then_lose_the_answer() -> None:
            await commit()
            if self.lost == 0 and uow.nesting_depth == 1:
                self.lost += 1
                raise RetryableError("connection lost after COMMIT: outcome unknown")

        uow.commit = commit_then_lose_the_answer  # type: ignore[method-assign]
        return uow


async def test_a_repeated_key_returns_the_first_result_and_applies_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    wallet = await stored_wallet(uow_factory)
    deposit = Idempotent(DepositCredits, uow_factory, "deposit_credits")
    command = DepositCreditsCommand(wallet_id=wallet.id, amount="5")

    first = await deposit(command, idempotency_key="deposit-1")
    again = await deposit(command, idempotency_key="deposit-1")

    assert again == first
    assert first.balance == Decimal("5.00")
    assert await balance_of(uow_factory, wallet) == Decimal("5.00")
    await deposit(command, idempotency_key="deposit-2")
    assert await balance_of(uow_factory, wallet) == Decimal("10.00")


async def test_a_key_reused_for_another_command_is_refused_and_changes_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    wallet = await stored_wallet(uow_factory)
    deposit = Idempotent(DepositCredits, uow_factory, "deposit_credits")
    await deposit(
        DepositCreditsCommand(wallet_id=wallet.id, amount="5"),
        idempotency_key="k",
    )

    with pytest.raises(IdempotencyKeyReused, match="'k' was already used"):
        await deposit(
            DepositCreditsCommand(wallet_id=wallet.id, amount="6"),
            idempotency_key="k",
        )
    assert await balance_of(uow_factory, wallet) == Decimal("5.00")


async def test_a_lost_commit_outcome_retried_with_its_key_is_applied_once(
    uow_factory: UnitOfWorkFactory,
) -> None:
    wallet = await stored_wallet(uow_factory)
    lossy = CommitOutcomeLost(uow_factory)
    deposit = retried(Idempotent(DepositCredits, lossy, "deposit_credits"))
    command = DepositCreditsCommand(wallet_id=wallet.id, amount="5")

    result = await deposit(command, idempotency_key="once")

    assert lossy.lost == 1
    assert result.balance == Decimal("5.00")
    assert await balance_of(uow_factory, wallet) == Decimal("5.00")


async def test_without_a_key_a_lost_commit_outcome_is_applied_twice(
    uow_factory: UnitOfWorkFactory,
) -> None:
    """Why keys exist: the retry alone cannot tell a lost answer from a failed commit."""
    wallet = await stored_wallet(uow_factory)
    lossy = CommitOutcomeLost(uow_factory)
    deposit = retried(Idempotent(DepositCredits, lossy, "deposit_credits"))

    await deposit(DepositCreditsCommand(wallet_id=wallet.id, amount="5"))

    assert lossy.lost == 1
    assert await balance_of(uow_factory, wallet) == Decimal("10.00")


async def test_a_refused_command_does_not_use_up_its_key(uow_factory: UnitOfWorkFactory) -> None:
    source = await stored_wallet(uow_factory)
    target = await stored_wallet(uow_factory)
    transfer = Idempotent(TransferCredits, uow_factory, "transfer_credits")
    command = TransferCreditsCommand(
        source_wallet_id=source.id,
        target_wallet_id=target.id,
        amount="3",
    )
    with pytest.raises(InsufficientFunds):
        await transfer(command, idempotency_key="pay")

    await Idempotent(DepositCredits, uow_factory, "deposit_credits")(
        DepositCreditsCommand(wallet_id=source.id, amount="3")
    )
    receipt = await transfer(command, idempotency_key="pay")
    assert receipt.target_balance == Decimal("3.00")
    assert await balance_of(uow_factory, target) == Decimal("3.00")


@pytest.mark.parametrize("key", ["", " padded ", "tab\there", "x" * 201])
async def test_a_malformed_key_is_refused_before_anything_runs(
    uow_factory: UnitOfWorkFactory, key: str
) -> None:
    wallet = await stored_wallet(uow_factory)
    deposit = Idempotent(DepositCredits, uow_factory, "deposit_credits")
    with pytest.raises(InvalidValue, match="idempotency key"):
        await deposit(
            DepositCreditsCommand(wallet_id=wallet.id, amount="5"),
            idempotency_key=key,
        )
    assert await balance_of(uow_factory, wallet) == Decimal("0.00")
