"""The contract every unit of work and its repositories keep, on every backend."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from uuid import uuid4

import pytest

from application.errors import ReadOnlyUnitError
from application.ports.unit_of_work import UnitOfWorkFactory
from domain.credits import Credits
from domain.errors import Conflict, NotFound
from domain.users import User
from domain.wallets import Wallet
from tests.builders import balance_of, new_user, stored_wallet


class Boom(Exception):
    pass


async def test_committed_user_is_visible_to_a_new_unit(uow_factory: UnitOfWorkFactory) -> None:
    user = new_user()
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.commit()

    async with uow_factory(read_only=True) as uow:
        stored = await uow.users.get(user.id)
    assert (stored.email, stored.username, stored.active) == (user.email, user.username, True)
    assert stored.created_at == user.created_at


async def test_leaving_without_commit_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    user = new_user()
    async with uow_factory() as uow:
        await uow.users.add(user)

    async with uow_factory(read_only=True) as uow:
        with pytest.raises(NotFound):
            await uow.users.get(user.id)


async def test_an_exception_rolls_back_and_reaches_the_caller(
    uow_factory: UnitOfWorkFactory,
) -> None:
    user = new_user()
    with pytest.raises(Boom):
        async with uow_factory() as uow:
            await uow.users.add(user)
            raise Boom

    async with uow_factory(read_only=True) as uow:
        with pytest.raises(NotFound):
            await uow.users.get(user.id)


async def test_wallet_and_ledger_change_together_or_not_at_all(
    uow_factory: UnitOfWorkFactory,
) -> None:
    wallet = await stored_wallet(uow_factory, balance="10")
    with pytest.raises(Boom):
        async with uow_factory() as uow:
            [loaded] = await uow.wallets.get_for_update([wallet.id])
            await uow.ledger.append(loaded.deposit(Credits.positive("5")))
            raise Boom
    assert await balance_of(uow_factory, wallet) == Decimal("10.00")

    async with uow_factory() as uow:
        [loaded] = await uow.wallets.get_for_update([wallet.id])
        await uow.ledger.append(loaded.deposit(Credits.positive("5")))
        await uow.commit()
    assert await balance_of(uow_factory, wallet) == Decimal("15.00")
    async with uow_factory(read_only=True) as uow:
        page = await uow.ledger.statement(wallet.account, limit=10, offset=0)
    assert [line.delta for line in page.lines] == [Decimal("5.00"), Decimal("10.00")]


async def test_changes_to_a_loaded_aggregate_persist_without_a_save_call(
    uow_factory: UnitOfWorkFactory,
) -> None:
    user = new_user()
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.commit()
    async with uow_factory() as uow:
        (await uow.users.get(user.id)).deactivate()
        await uow.commit()

    async with uow_factory(read_only=True) as uow:
        assert (await uow.users.get(user.id)).active is False


async def test_an_uncommitted_change_is_invisible_to_a_concurrent_unit(
    uow_factory: UnitOfWorkFactory,
) -> None:
    wallet = await stored_wallet(uow_factory, balance="10")
    user = new_user()
    changed = asyncio.Event()
    looked = asyncio.Event()

    async def writer() -> None:
        async with uow_factory() as uow:
            await uow.users.add(user)
            [loaded] = await uow.wallets.get_for_update([wallet.id])
            await uow.ledger.append(loaded.deposit(Credits.positive("90")))
            changed.set()
            await looked.wait()
            await uow.commit()

    async def reader() -> tuple[bool, Decimal]:
        await changed.wait()
        try:
            async with uow_factory(read_only=True) as uow:
                try:
                    await uow.users.get(user.id)
                    user_seen = True
                except NotFound:
                    user_seen = False
                balance = (await uow.wallets.get(wallet.id)).balance.value
            return user_seen, balance
        finally:
            looked.set()

    _, (user_seen, balance) = await asyncio.gather(writer(), reader())
    assert (user_seen, balance) == (False, Decimal("10.00"))
    assert await balance_of(uow_factory, wallet) == Decimal("100.00")


async def test_a_unit_hands_out_one_object_per_id(uow_factory: UnitOfWorkFactory) -> None:
    wallet = await stored_wallet(uow_factory)
    async with uow_factory(read_only=True) as uow:
        first = await uow.wallets.get(wallet.id)
        [locked] = await uow.wallets.get_for_update([wallet.id])
        assert locked is first
        assert await uow.wallets.get(wallet.id) is first


async def test_wallets_for_update_come_in_the_order_asked(uow_factory: UnitOfWorkFactory) -> None:
    first, second = await stored_wallet(uow_factory), await stored_wallet(uow_factory)
    async with uow_factory(read_only=True) as uow:
        pair = await uow.wallets.get_for_update([second.id, first.id])
    assert [wallet.id for wallet in pair] == [second.id, first.id]


async def test_an_unknown_id_is_not_found(uow_factory: UnitOfWorkFactory) -> None:
    known = await stored_wallet(uow_factory)
    async with uow_factory(read_only=True) as uow:
        with pytest.raises(NotFound, match="wallet"):
            await uow.wallets.get_for_update([known.id, uuid4()])
        with pytest.raises(NotFound, match="user"):
            await uow.users.get(uuid4())


@pytest.mark.parametrize("field", ["email", "username"])
async def test_a_taken_email_or_username_is_a_conflict_and_writes_nothing(
    uow_factory: UnitOfWorkFactory, field: str
) -> None:
    existing = new_user()
    async with uow_factory() as uow:
        await uow.users.add(existing)
        await uow.commit()
    rival = new_user()
    setattr(rival, field, getattr(existing, field))
    bystander = new_user()

    with pytest.raises(Conflict):
        async with uow_factory() as uow:
            await uow.users.add(bystander)
            await uow.users.add(rival)
            await uow.commit()

    async with uow_factory(read_only=True) as uow:
        with pytest.raises(NotFound):
            await uow.users.get(bystander.id)


async def test_a_second_wallet_for_one_owner_is_a_conflict(uow_factory: UnitOfWorkFactory) -> None:
    user = new_user()
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.wallets.add(Wallet.open_for(user))
        await uow.commit()
    with pytest.raises(Conflict, match="already has a wallet"):
        async with uow_factory() as uow:
            await uow.wallets.add(Wallet.open_for(await uow.users.get(user.id)))
            await uow.commit()


async def test_a_wallet_of_an_unknown_owner_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    ghost = User.register("ghost@example.com", "ghost")
    with pytest.raises(NotFound):
        async with uow_factory() as uow:
            await uow.wallets.add(Wallet.open_for(ghost))
            await uow.commit()


async def test_a_read_only_unit_cannot_commit_and_leaves_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    user = new_user()
    with pytest.raises(ReadOnlyUnitError):
        async with uow_factory(read_only=True) as uow:
            await uow.users.add(user)
            await uow.commit()

    async with uow_factory(read_only=True) as uow:
        with pytest.raises(NotFound):
            await uow.users.get(user.id)


async def test_a_read_only_unit_refuses_a_ledger_entry_at_once(
    uow_factory: UnitOfWorkFactory,
) -> None:
    wallet = await stored_wallet(uow_factory)
    with pytest.raises(ReadOnlyUnitError):
        async with uow_factory(read_only=True) as uow:
            [loaded] = await uow.wallets.get_many([wallet.id])
            await uow.ledger.append(loaded.deposit(Credits.positive("1")))

    assert await balance_of(uow_factory, wallet) == Decimal("0.00")
    async with uow_factory(read_only=True) as uow:
        statement = await uow.ledger.statement(wallet.account, limit=5, offset=0)
    assert statement.total == 0


async def test_a_changed_wallet_gets_a_new_version_and_an_unchanged_one_keeps_it(
    uow_factory: UnitOfWorkFactory,
) -> None:
    changed, unchanged = await stored_wallet(uow_factory), await stored_wallet(uow_factory)
    async with uow_factory() as uow:
        first, _ = await uow.wallets.get_for_update([changed.id, unchanged.id])
        await uow.ledger.append(first.deposit(Credits.positive("1")))
        await uow.commit()
    assert first.version == changed.version + 1

    async with uow_factory(read_only=True) as uow:
        assert (await uow.wallets.get(changed.id)).version == changed.version + 1
        assert (await uow.wallets.get(unchanged.id)).version == unchanged.version


async def test_statement_is_newest_first_and_paginated_with_a_total(
    uow_factory: UnitOfWorkFactory,
) -> None:
    wallet = await stored_wallet(uow_factory)
    for amount in ("1", "2", "3", "4", "5"):
        async with uow_factory() as uow:
            [loaded] = await uow.wallets.get_for_update([wallet.id])
            await uow.ledger.append(loaded.deposit(Credits.positive(amount)))
            await uow.commit()

    async with uow_factory(read_only=True) as uow:
        page = await uow.ledger.statement(wallet.account, limit=2, offset=1)
        empty = await uow.ledger.statement("wallet:nobody", limit=2, offset=0)
    assert page.total == 5
    assert [line.delta for line in page.lines] == [Decimal("4.00"), Decimal("3.00")]
    assert (empty.total, empty.lines) == (0, [])
