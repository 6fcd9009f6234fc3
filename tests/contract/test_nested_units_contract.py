"""Nested units (savepoints) and commit/rollback hooks behave alike on every backend."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.ports.unit_of_work import Hook, UnitOfWorkFactory
from domain.credits import Credits
from domain.errors import Conflict, NotFound
from domain.tasks import Task
from domain.users import User
from domain.wallets import Wallet
from tests.builders import balance_of, new_user, stored_wallet


class Boom(Exception):
    pass


async def deposit_in(uow_factory: UnitOfWorkFactory, wallet: Wallet, amount: str) -> Wallet:
    """Within the open unit that `uow_factory` hands out: load `wallet` and deposit into it."""
    uow = uow_factory()
    [loaded] = await uow.wallets.get_for_update([wallet.id])
    await uow.ledger.append(loaded.deposit(Credits.positive(amount)))
    return loaded


@pytest.mark.parametrize(
    ("inner_commits", "inner_raises", "outer_commits", "expected"),
    [
        (True, False, True, "11.00"),
        (False, False, True, "1.00"),
        (False, True, True, "1.00"),
        (True, False, False, "0.00"),
        (False, True, False, "0.00"),
    ],
    ids=[
        "inner-commits-outer-commits",
        "inner-leaves-outer-commits",
        "inner-fails-outer-commits",
        "inner-commits-outer-rolls-back",
        "inner-fails-outer-rolls-back",
    ],
)
async def test_a_savepoint_keeps_or_discards_exactly_its_own_part(
    uow_factory: UnitOfWorkFactory,
    inner_commits: bool,
    inner_raises: bool,
    outer_commits: bool,
    expected: str,
) -> None:
    wallet = await stored_wallet(uow_factory)
    async with uow_factory() as uow:
        [outer_view] = await uow.wallets.get_for_update([wallet.id])
        await uow.ledger.append(outer_view.deposit(Credits.positive("1")))
        try:
            async with uow:
                assert uow.nesting_depth == 2
                await uow.ledger.append(outer_view.deposit(Credits.positive("10")))
                if inner_commits:
                    await uow.commit()
                if inner_raises:
                    raise Boom
        except Boom:
            pass
        assert uow.nesting_depth == 1
        # The aggregate the outer block holds is back to what the savepoint found, or not.
        kept_inner = inner_commits and not inner_raises
        assert outer_view.balance.value == Decimal("11.00" if kept_inner else "1.00")
        if outer_commits:
            await uow.commit()

    assert await balance_of(uow_factory, wallet) == Decimal(expected)
    async with uow_factory(read_only=True) as uow:
        statement = await uow.ledger.statement(wallet.account, limit=10, offset=0)
    assert sum(line.delta for line in statement.lines) == Decimal(expected)


async def test_an_aggregate_first_loaded_inside_a_failed_savepoint_is_forgotten(
    uow_factory: UnitOfWorkFactory,
) -> None:
    first = await stored_wallet(uow_factory, "5")
    second = await stored_wallet(uow_factory, "5")
    user = new_user()
    async with uow_factory() as uow:
        [loaded_first] = await uow.wallets.get_for_update([first.id])
        with pytest.raises(Boom):
            async with uow:
                [inside] = await uow.wallets.get_for_update([second.id])
                await uow.ledger.append(inside.transfer_to(loaded_first, Credits.positive("5")))
                await uow.users.add(user)
                raise Boom
        assert second.id not in uow.wallets.seen
        assert user.id not in uow.users.seen
        # Loaded again, it is read afresh: the failed part left no trace on it.
        [again] = await uow.wallets.get_for_update([second.id])
        assert again is not inside
        await uow.ledger.append(again.transfer_to(loaded_first, Credits.positive("2")))
        await uow.commit()

    assert await balance_of(uow_factory, first) == Decimal("7.00")
    assert await balance_of(uow_factory, second) == Decimal("3.00")
    async with uow_factory(read_only=True) as uow:
        with pytest.raises(NotFound):
            await uow.users.get(user.id)


async def test_savepoints_nest_and_each_level_rolls_back_alone(
    uow_factory: UnitOfWorkFactory,
) -> None:
    wallet = await stored_wallet(uow_factory)
    async with uow_factory() as uow:
        [held] = await uow.wallets.get_for_update([wallet.id])
        await uow.ledger.append(held.deposit(Credits.positive("1")))
        async with uow:
            await uow.ledger.append(held.deposit(Credits.positive("2")))
            with pytest.raises(Boom):
                async with uow:
                    assert uow.nesting_depth == 3
                    await uow.ledger.append(held.deposit(Credits.positive("4")))
                    raise Boom
            await uow.commit()
        await uow.commit()

    assert await balance_of(uow_factory, wallet) == Decimal("3.00")


async def test_a_task_changed_and_flushed_in_a_failed_savepoint_keeps_one_version_per_unit(
    uow_factory: UnitOfWorkFactory,
) -> None:
    creator = new_user()
    async with uow_factory() as uow:
        await uow.users.add(creator)
        task, _ = Task.create(creator=creator, title="paint")
        await uow.tasks.add(task)
        await uow.commit()
    assignee = new_user()
    async with uow_factory() as uow:
        await uow.users.add(assignee)
        held = await uow.tasks.get(task.id)
        original_version = held.version
        with pytest.raises(Boom):
            async with uow:
                held.assign(assignee)
                async with uow:
                    # A query makes the SQL adapters flush the change inside the savepoint.
                    await uow.tasks.details(task.id)
                    await uow.commit()
                raise Boom
        assert held.assignee_id is None
        held.assign(assignee)
        await uow.commit()

    async with uow_factory(read_only=True) as uow:
        stored = await uow.tasks.get(task.id)
    assert stored.assignee_id == assignee.id
    assert stored.version == original_version + 1


async def test_hooks_fire_once_on_the_outermost_outcome_only(
    uow_factory: UnitOfWorkFactory,
) -> None:
    fired: list[str] = []

    def note(what: str) -> Hook:
        async def hook() -> None:
            fired.append(what)

        return hook

    async with uow_factory() as uow:
        uow.after_commit(note("outer commit"))
        uow.after_rollback(note("outer rollback"))
        async with uow:
            uow.after_commit(note("kept inner commit"))
            await uow.commit()
        assert fired == []
        with pytest.raises(Boom):
            async with uow:
                uow.after_commit(note("discarded inner commit"))
                raise Boom
        await uow.users.add(new_user())
        await uow.commit()
    assert fired == ["outer commit", "kept inner commit"]

    fired.clear()
    with pytest.raises(Boom):
        async with uow_factory() as uow:
            uow.after_commit(note("commit"))
            uow.after_rollback(note("rollback"))
            raise Boom
    assert fired == ["rollback"]


async def test_a_failing_hook_does_not_undo_the_commit_or_stop_other_hooks(
    uow_factory: UnitOfWorkFactory, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    async def failing() -> None:
        raise Boom("hook failed")

    async def after() -> None:
        ran.append("after")

    user = new_user()
    async with uow_factory() as uow:
        await uow.users.add(user)
        uow.after_commit(failing)
        uow.after_commit(after)
        await uow.commit()

    assert ran == ["after"]
    assert "after_commit hook failed" in caplog.text
    async with uow_factory(read_only=True) as uow:
        assert (await uow.users.get(user.id)).id == user.id


async def test_a_constraint_broken_inside_a_savepoint_fails_it_and_the_outer_part_goes_on(
    uow_factory: UnitOfWorkFactory,
) -> None:
    taken = new_user()
    async with uow_factory() as uow:
        await uow.users.add(taken)
        await uow.commit()
    newcomer = new_user()
    async with uow_factory() as uow:
        await uow.users.add(newcomer)
        with pytest.raises(Conflict, match="email"):
            async with uow:
                await uow.users.add(User.register(taken.email, "someone_else"))
                await uow.commit()
        await uow.commit()

    async with uow_factory(read_only=True) as uow:
        assert (await uow.users.get(newcomer.id)).email == newcomer.email
