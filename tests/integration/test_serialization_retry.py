"""A serialization failure at COMMIT is retried by running the whole unit again."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from application.retry import RetryCounter, RetryPolicy, RetryRunner
from domain.credits import Credits
from domain.wallets import Wallet
from tests.builders import stored_wallet
from tests.conftest import sql_uow_factory
from tests.databases import Databases

TOP_UP = Credits.positive("60")
THRESHOLD = Decimal("250")


async def test_write_skew_under_serializable_is_retried_whole_and_applied_once(
    databases: Databases,
) -> None:
    engine = await databases.engine("postgres", isolation_level="SERIALIZABLE")
    uow_factory = sql_uow_factory(engine)
    first = await stored_wallet(uow_factory, "100")
    second = await stored_wallet(uow_factory, "100")
    both_read, both_wrote = asyncio.Barrier(2), asyncio.Barrier(2)
    commit_failures: list[str] = []

    async def top_up_if_poor(target: Wallet, runs: list[int]) -> None:
        """Deposit into `target` unless both wallets together already hold the threshold."""
        runs.append(1)
        async with uow_factory() as uow:
            balances = [(await uow.wallets.get(w.id)).balance.value for w in (first, second)]
            if len(runs) == 1:
                await both_read.wait()  # both units read before either writes: write skew
            if sum(balances) < THRESHOLD:
                [wallet] = await uow.wallets.get_for_update([target.id])
                await uow.ledger.append(wallet.deposit(TOP_UP))
            if len(runs) == 1:
                await both_wrote.wait()  # neither commits before both wrote: the clash is at COMMIT
            try:
                await uow.commit()
            except DBAPIError as error:
                commit_failures.append(str(getattr(error.orig, "sqlstate", "")))
                raise

    runner = RetryRunner(RetryPolicy(max_attempts=3), RetryCounter())
    first_runs: list[int] = []
    second_runs: list[int] = []
    await asyncio.gather(
        runner.run(lambda: top_up_if_poor(first, first_runs)),
        runner.run(lambda: top_up_if_poor(second, second_runs)),
    )

    assert commit_failures == ["40001"]
    assert runner.counter.retries == 1
    assert sorted([len(first_runs), len(second_runs)]) == [1, 2]
    async with uow_factory(read_only=True) as uow:
        balances = sorted([(await uow.wallets.get(w.id)).balance.value for w in (first, second)])
    # Exactly one top-up happened: the retried unit saw the other's deposit and did nothing.
    assert balances == [Decimal("100.00"), Decimal("160.00")]


@pytest.mark.parametrize("isolation_level", ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"])
async def test_connections_run_at_the_configured_isolation_level(
    databases: Databases, isolation_level: str
) -> None:
    engine = await databases.engine("postgres", isolation_level=isolation_level)
    async with engine.connect() as connection:
        shown = await connection.scalar(text("SHOW transaction_isolation"))
    assert shown == isolation_level.lower()
