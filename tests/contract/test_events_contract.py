"""Events after commit, the outbox and its relay behave alike on every backend."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from application.events.delivery import DeliveryPolicy, MessageDelivery
from application.events.handlers import EventHandlers
from application.events.relay import OutboxRelay
from application.ports.outbox import OutboxCounts
from application.ports.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory
from domain.credits import Credits
from domain.events import CreditsDeposited, DomainEvent, UserRegistered, WalletOpened
from domain.users import User
from domain.wallets import Wallet
from tests.builders import balance_of, new_user, stored_wallet
from tests.conftest import UnitOfWorkMaker

# Messages a writer delivers itself are hidden from the relay for the lease; zero makes a
# message the writer failed to deliver due for the relay at once.
NO_LEASE = DeliveryPolicy(lease_seconds=0)


class Boom(Exception):
    pass


class SimulatedCrash(BaseException):
    """The process dies here: nothing after this point runs, not even error handling."""


class Recorder:
    """A handler that remembers what it was handed, and can be told to fail."""

    def __init__(self, fail_times: int = 0, crash_times: int = 0) -> None:
        self.events: list[DomainEvent] = []
        self.fail_times = fail_times
        self.crash_times = crash_times

    async def __call__(self, event: DomainEvent, uow: AbstractUnitOfWork) -> None:
        if self.crash_times:
            self.crash_times -= 1
            raise SimulatedCrash
        if self.fail_times:
            self.fail_times -= 1
            raise Boom("handler failed")
        self.events.append(event)


def handlers_for(*event_types: type[DomainEvent], handler: Recorder) -> EventHandlers:
    handlers = EventHandlers()
    for event_type in event_types:
        handlers.register(event_type, "recorder", handler)
    return handlers


def relay_on(uow_factory: UnitOfWorkFactory, handlers: EventHandlers) -> OutboxRelay:
    return OutboxRelay(uow_factory, MessageDelivery(uow_factory, handlers, NO_LEASE), NO_LEASE)


async def outbox_counts(uow_factory: UnitOfWorkFactory) -> OutboxCounts:
    async with uow_factory(read_only=True) as uow:
        return await uow.outbox.counts()


async def register_with_wallet(uow_factory: UnitOfWorkFactory, deposit: str = "3") -> User:
    async with uow_factory() as uow:
        user = new_user()
        wallet = Wallet.open_for(user)
        await uow.users.add(user)
        await uow.wallets.add(wallet)
        await uow.ledger.append(wallet.deposit(Credits.positive(deposit)))
        await uow.commit()
    return user


async def test_a_committed_unit_writes_its_events_to_the_outbox_each_once(
    uow_maker: UnitOfWorkMaker,
) -> None:
    uow_factory = uow_maker()
    user = await register_with_wallet(uow_factory)
    assert await outbox_counts(uow_factory) == OutboxCounts(pending=3, done=0, failed=0)

    recorder = Recorder()
    handlers = handlers_for(UserRegistered, WalletOpened, CreditsDeposited, handler=recorder)
    report = await relay_on(uow_maker(handlers), handlers).drain()

    assert [type(event) for event in recorder.events] == [
        UserRegistered,
        WalletOpened,
        CreditsDeposited,
    ]
    registered = recorder.events[0]
    assert isinstance(registered, UserRegistered)
    assert (registered.user_id, registered.email) == (user.id, user.email)
    deposited = recorder.events[2]
    assert isinstance(deposited, CreditsDeposited)
    assert deposited.amount == Credits.positive("3")
    assert report.delivered == 3
    assert await outbox_counts(uow_factory) == OutboxCounts(pending=0, done=3, failed=0)
    assert (await relay_on(uow_maker(handlers), handlers).drain()).delivered == 0


async def test_a_rolled_back_unit_writes_and_dispatches_nothing(
    uow_maker: UnitOfWorkMaker,
) -> None:
    recorder = Recorder()
    uow_factory = uow_maker(handlers_for(UserRegistered, handler=recorder))
    async with uow_factory() as uow:
        await uow.users.add(new_user())
        await uow.commit()
    with pytest.raises(Boom):
        async with uow_factory() as uow:
            await uow.users.add(new_user())
            raise Boom

    assert len(recorder.events) == 1
    assert await outbox_counts(uow_factory) == OutboxCounts(pending=0, done=1, failed=0)


async def test_events_of_a_failed_savepoint_are_never_written(
    uow_maker: UnitOfWorkMaker,
) -> None:
    recorder = Recorder()
    uow_factory = uow_maker(handlers_for(UserRegistered, handler=recorder))
    kept, discarded = new_user(), new_user()
    async with uow_factory() as uow:
        await uow.users.add(kept)
        with pytest.raises(Boom):
            async with uow:
                await uow.users.add(discarded)
                raise Boom
        await uow.commit()

    assert [event.user_id for event in recorder.events] == [kept.id]  # type: ignore[attr-defined]


async def test_handlers_run_after_commit_once_and_mark_the_messages_done(
    uow_maker: UnitOfWorkMaker,
) -> None:
    recorder = Recorder()
    handlers = handlers_for(UserRegistered, WalletOpened, CreditsDeposited, handler=recorder)
    uow_factory = uow_maker(handlers)
    await register_with_wallet(uow_factory)

    assert len(recorder.events) == 3
    assert await outbox_counts(uow_factory) == OutboxCounts(pending=0, done=3, failed=0)
    await relay_on(uow_factory, handlers).drain()
    assert len(recorder.events) == 3


async def test_a_failing_handler_leaves_the_unit_committed_and_the_relay_retries_it(
    uow_maker: UnitOfWorkMaker, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(fail_times=1)
    handlers = handlers_for(UserRegistered, handler=recorder)
    backoff = DeliveryPolicy(lease_seconds=0, first_retry_seconds=0.3)
    uow_factory = uow_maker(handlers, backoff)
    user = new_user()
    async with uow_factory() as uow:
        await uow.users.add(user)
        await uow.commit()

    assert "handler recorder failed" in caplog.text
    async with uow_factory(read_only=True) as uow:
        assert (await uow.users.get(user.id)).id == user.id
    assert await outbox_counts(uow_factory) == OutboxCounts(pending=1, done=0, failed=0)
    relay = OutboxRelay(uow_factory, MessageDelivery(uow_factory, handlers, backoff), backoff)
    # Retried only after the backoff: a drain right away finds nothing due.
    assert (await relay.drain()).delivered == 0
    await asyncio.sleep(0.35)
    assert (await relay.drain()).delivered == 1
    assert [type(event) for event in recorder.events] == [UserRegistered]
    assert await outbox_counts(uow_factory) == OutboxCounts(pending=0, done=1, failed=0)


async def test_a_crash_between_commit_and_dispatch_is_healed_by_the_relay(
    uow_maker: UnitOfWorkMaker,
) -> None:
    recorder = Recorder(crash_times=1)
    handlers = handlers_for(UserRegistered, handler=recorder)
    uow_factory = uow_maker(handlers, NO_LEASE)
    user = new_user()
    with pytest.raises(SimulatedCrash):
        async with uow_factory() as uow:
            await uow.users.add(user)
            await uow.commit()
    assert recorder.events == []
    assert await outbox_counts(uow_factory) == OutboxCounts(pending=1, done=0, failed=0)

    assert (await relay_on(uow_factory, handlers).drain()).delivered == 1
    assert [event.user_id for event in recorder.events] == [user.id]  # type: ignore[attr-defined]


async def test_a_message_redelivered_after_its_handler_committed_is_applied_once(
    uow_maker: UnitOfWorkMaker,
) -> None:
    payee = await stored_wallet(uow_maker())
    # The set-up's own events are delivered first, to no handler: only the new user's count.
    await relay_on(uow_maker(), EventHandlers()).drain()

    async def pay_a_bonus(event: DomainEvent, uow: AbstractUnitOfWork) -> None:
        [wallet] = await uow.wallets.get_for_update([payee.id])
        await uow.ledger.append(wallet.deposit(Credits.positive("1")))

    crashing = Recorder(crash_times=1)
    handlers = EventHandlers()
    handlers.register(UserRegistered, "bonus", pay_a_bonus)
    handlers.register(UserRegistered, "then-crash", crashing)
    uow_factory = uow_maker(handlers, NO_LEASE)
    with pytest.raises(SimulatedCrash):
        async with uow_factory() as uow:
            await uow.users.add(new_user())
            await uow.commit()
    assert await balance_of(uow_factory, payee) == Decimal("1.00")

    report = await relay_on(uow_factory, handlers).drain()
    assert report.failed == 0
    assert await balance_of(uow_factory, payee) == Decimal("1.00")
    assert len(crashing.events) == 1


async def test_a_message_is_given_up_on_after_the_last_attempt(
    uow_maker: UnitOfWorkMaker,
) -> None:
    recorder = Recorder(fail_times=99)
    handlers = handlers_for(UserRegistered, handler=recorder)
    once = DeliveryPolicy(max_attempts=1, lease_seconds=0)
    uow_factory = uow_maker(handlers, once)
    async with uow_factory() as uow:
        await uow.users.add(new_user())
        await uow.commit()

    assert await outbox_counts(uow_factory) == OutboxCounts(pending=0, done=0, failed=1)
