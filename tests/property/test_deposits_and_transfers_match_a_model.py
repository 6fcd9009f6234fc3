"""Deposits and transfers, with failures injected into random units, agree with a plain model.

Each hypothesis example opens fresh wallets in one database shared by the whole test function,
runs random deposits and transfers through the public use cases, and after every operation reads
the stored state past any unit of work: a fresh connection on SQLite, the store on the fake.
"""

from __future__ import annotations

import abc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from application.ports.unit_of_work import UnitOfWorkFactory
from application.use_cases import (
    DepositCredits,
    DepositCreditsCommand,
    GetWallet,
    GetWalletQuery,
    OpenWallet,
    OpenWalletCommand,
    RegisterUser,
    RegisterUserCommand,
    TransferCredits,
    TransferCreditsCommand,
    TransferReceipt,
)
from application.views import WalletView
from domain.errors import DomainError, InsufficientFunds, InvalidTransfer
from domain.ledger import MINT_ACCOUNT, EntryKind, wallet_account
from infrastructure.in_memory import InMemoryStore
from tests.databases import Databases
from tests.property.backends import Harness, from_minor_units, harness_on, reading, to_minor_units
from tests.property.faults import (
    FaultPoint,
    InjectedFault,
)

StoredPosting = tuple[UUID, str, Decimal]
"""A posting as stored: the entry it belongs to, its account, its signed delta."""

EntryPostings = Counter[tuple[str, Decimal]]


# --- Reading the stored state without going through a unit of work ---------------------------


@dataclass(frozen=True)
class Snapshot:
    """What storage holds for one example's wallets, plus how many entries the ledger has."""

    balances: dict[UUID, Decimal]
    postings: Counter[StoredPosting]
    entry_count: int


class Books(abc.ABC):
    """The committed state, read straight from storage, never from a unit's identity map."""

    @abc.abstractmethod
    async def snapshot(self, wallet_ids: Sequence[UUID]) -> Snapshot: ...

    @abc.abstractmethod
    async def entry(self, entry_id: UUID) -> tuple[str, EntryPostings]:
        """The kind and the postings of one stored entry."""

    @abc.abstractmethod
    async def ledger_total(self) -> Decimal:
        """The sum of every posting in storage."""

    @abc.abstractmethod
    async def unbalanced_entries(self) -> list[UUID]:
        """Every stored entry whose postings do not sum to zero."""

    @abc.abstractmethod
    async def negative_balances(self) -> list[UUID]:
        """Every stored wallet whose balance is below zero."""


class StoreBooks(Books):
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def snapshot(self, wallet_ids: Sequence[UUID]) -> Snapshot:
        accounts = {wallet_account(wallet_id) for wallet_id in wallet_ids}
        return Snapshot(
            balances={
                wallet_id: self._store.wallets[wallet_id].balance.value for wallet_id in wallet_ids
            },
            postings=Counter(
                (entry.id, posting.account, posting.delta)
                for entry in self._store.entries
                for posting in entry.postings
                if posting.account in accounts
            ),
            entry_count=len(self._store.entries),
        )

    async def entry(self, entry_id: UUID) -> tuple[str, EntryPostings]:
        [entry] = [entry for entry in self._store.entries if entry.id == entry_id]
        return entry.kind.value, Counter((p.account, p.delta) for p in entry.postings)

    async def ledger_total(self) -> Decimal:
        return sum(
            (posting.delta for entry in self._store.entries for posting in entry.postings),
            Decimal(0),
        )

    async def unbalanced_entries(self) -> list[UUID]:
        return [
            entry.id
            for entry in self._store.entries
            if sum(posting.delta for posting in entry.postings) != 0
        ]

    async def negative_balances(self) -> list[UUID]:
        return [wallet.id for wallet in self._store.wallets.values() if wallet.balance.value < 0]


class SqlBooks(Books):
    """Plain SELECTs on a fresh connection.

    Amounts are stored as integer hundredths; SQLite stores ids as 32 hex digits, PostgreSQL
    as uuids, so ids are bound per dialect and read back through their text.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._bound: Callable[[UUID], object] = (
            (lambda key: key.hex) if engine.dialect.name == "sqlite" else (lambda key: key)
        )

    async def snapshot(self, wallet_ids: Sequence[UUID]) -> Snapshot:
        async with reading(self._engine) as connection:
            balances = await connection.execute(
                text("SELECT id, balance FROM wallets WHERE id IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                ),
                {"ids": [self._bound(wallet_id) for wallet_id in wallet_ids]},
            )
            postings = await connection.execute(
                text(
                    "SELECT entry_id, account, delta FROM ledger_postings"
                    " WHERE account IN :accounts"
                ).bindparams(bindparam("accounts", expanding=True)),
                {"accounts": [wallet_account(wallet_id) for wallet_id in wallet_ids]},
            )
            entry_count = await connection.scalar(text("SELECT COUNT(*) FROM ledger_entries"))
            return Snapshot(
                balances={
                    UUID(str(row_id)): from_minor_units(balance) for row_id, balance in balances
                },
                postings=Counter(
                    (UUID(str(entry_id)), account, from_minor_units(delta))
                    for entry_id, account, delta in postings
                ),
                entry_count=int(entry_count or 0),
            )

    async def entry(self, entry_id: UUID) -> tuple[str, EntryPostings]:
        async with reading(self._engine) as connection:
            kind = await connection.scalar(
                text("SELECT kind FROM ledger_entries WHERE id = :id"),
                {"id": self._bound(entry_id)},
            )
            postings = await connection.execute(
                text("SELECT account, delta FROM ledger_postings WHERE entry_id = :id"),
                {"id": self._bound(entry_id)},
            )
            return str(kind), Counter(
                (account, from_minor_units(delta)) for account, delta in postings
            )

    async def ledger_total(self) -> Decimal:
        async with reading(self._engine) as connection:
            total = await connection.scalar(
                text("SELECT COALESCE(SUM(delta), 0) FROM ledger_postings")
            )
            return from_minor_units(int(total or 0))

    async def unbalanced_entries(self) -> list[UUID]:
        async with reading(self._engine) as connection:
            rows = await connection.scalars(
                text(
                    "SELECT entry_id FROM ledger_postings GROUP BY entry_id HAVING SUM(delta) <> 0"
                )
            )
            return [UUID(str(entry_id)) for entry_id in rows]

    async def negative_balances(self) -> list[UUID]:
        async with reading(self._engine) as connection:
            rows = await connection.scalars(text("SELECT id FROM wallets WHERE balance < 0"))
            return [UUID(str(wallet_id)) for wallet_id in rows]


# --- The backends under test ------------------------------------------------------------------


@pytest.fixture
async def harness(backend: str, databases: Databases) -> Harness[Books]:
    """One store or database for the whole test function; each example opens its own wallets."""
    return await harness_on(backend, databases, StoreBooks, SqlBooks)


# --- Operations and the model -----------------------------------------------------------------


@dataclass(frozen=True)
class Deposit:
    wallet: UUID
    amount: Decimal


@dataclass(frozen=True)
class Transfer:
    source: UUID
    target: UUID
    amount: Decimal


Operation = Deposit | Transfer
Model = dict[UUID, Decimal]

amounts = st.integers(min_value=1, max_value=100_000).map(from_minor_units)


def transfer_amounts(balance: Decimal) -> st.SearchStrategy[Decimal]:
    """Any amount, and amounts at and just past the balance, where an off-by-one would show."""
    choices = [amounts, amounts.map(lambda extra: balance + extra)]
    if balance > 0:
        within = st.integers(min_value=1, max_value=to_minor_units(balance))
        choices += [st.just(balance), within.map(from_minor_units)]
    return st.one_of(choices)


def draw_operation(data: st.DataObject, wallets: list[UUID], model: Model) -> Operation:
    if data.draw(st.booleans(), label="deposit?"):
        return Deposit(
            wallet=data.draw(st.sampled_from(wallets), label="wallet"),
            amount=data.draw(amounts, label="amount"),
        )
    source = data.draw(st.sampled_from(wallets), label="source")
    # One transfer in four goes from a wallet to itself, which must always be refused.
    if data.draw(st.sampled_from((False, False, False, True)), label="to itself?"):
        target = source
    else:
        others = [wallet for wallet in wallets if wallet != source]
        target = data.draw(st.sampled_from(others), label="target")
    amount = data.draw(transfer_amounts(model[source]), label="amount")
    return Transfer(source=source, target=target, amount=amount)


def refusal(operation: Operation, model: Model) -> type[DomainError] | None:
    """The domain error the operation must fail with, whatever the storage, or None."""
    if isinstance(operation, Transfer):
        if operation.source == operation.target:
            return InvalidTransfer
        if operation.amount > model[operation.source]:
            return InsufficientFunds
    return None


def apply(operation: Operation, model: Model) -> None:
    if isinstance(operation, Deposit):
        model[operation.wallet] += operation.amount
    else:
        model[operation.source] -= operation.amount
        model[operation.target] += operation.amount


def expected_entry(operation: Operation) -> tuple[str, EntryPostings]:
    if isinstance(operation, Deposit):
        source, target, kind = MINT_ACCOUNT, wallet_account(operation.wallet), EntryKind.DEPOSIT
    else:
        source = wallet_account(operation.source)
        target = wallet_account(operation.target)
        kind = EntryKind.TRANSFER
    return kind.value, Counter({(source, -operation.amount): 1, (target, operation.amount): 1})


# --- Driving the use cases --------------------------------------------------------------------

Outcome = WalletView | TransferReceipt | InsufficientFunds | InvalidTransfer | InjectedFault


async def open_wallet(uow_factory: UnitOfWorkFactory) -> UUID:
    unique = uuid4().hex
    user = await RegisterUser(uow_factory)(
        RegisterUserCommand(email=f"{unique}@example.com", username=f"u{unique[:24]}")
    )
    wallet = await OpenWallet(uow_factory)(OpenWalletCommand(owner_id=user.id))
    return wallet.id


async def attempt(operation: Operation, uow_factory: UnitOfWorkFactory) -> Outcome:
    """The use case's result, or the refusal or injected fault it raised."""
    try:
        if isinstance(operation, Deposit):
            return await DepositCredits(uow_factory)(
                DepositCreditsCommand(wallet_id=operation.wallet, amount=operation.amount)
            )
        return await TransferCredits(uow_factory)(
            TransferCreditsCommand(
                source_wallet_id=operation.source,
                target_wallet_id=operation.target,
                amount=operation.amount,
            )
        )
    except (InsufficientFunds, InvalidTransfer, InjectedFault) as error:
        return error


async def assert_balances_visible(uow_factory: UnitOfWorkFactory, model: Model) -> None:
    """What the application itself reads back agrees with the model."""
    get_wallet = GetWallet(uow_factory)
    for wallet_id, balance in model.items():
        view = await get_wallet(GetWalletQuery(wallet_id=wallet_id))
        assert view.balance == balance, f"GetWallet read {view.balance}, the model says {balance}"


def assert_result_matches(
    operation: Operation, outcome: Outcome, entry_id: UUID, model: Model
) -> None:
    if isinstance(operation, Deposit):
        assert isinstance(outcome, WalletView)
        assert (outcome.id, outcome.balance) == (operation.wallet, model[operation.wallet])
        return
    assert isinstance(outcome, TransferReceipt)
    assert outcome.entry_id == entry_id
    assert outcome.amount == operation.amount
    assert outcome.source_balance == model[operation.source]
    assert outcome.target_balance == model[operation.target]


async def assert_books_balanced(books: Books) -> None:
    """Over the whole database, every example's wallets included."""
    assert await books.ledger_total() == 0
    assert await books.unbalanced_entries() == []
    assert await books.negative_balances() == []


async def perform_and_check(
    harness: Harness[Books],
    wallets: list[UUID],
    model: Model,
    operation: Operation,
    fault: FaultPoint | None,
) -> None:
    """Run one operation with `fault` armed, then hold storage and results to the model."""
    switch, books = harness.switch, harness.books
    before = await books.snapshot(wallets)
    switch.arm(fault)
    try:
        outcome = await attempt(operation, harness.uow_factory)
    finally:
        switch.disarm()
    after = await books.snapshot(wallets)
    # Shown by --hypothesis-show-statistics: every kind of outcome should come up.
    reached = f" at {outcome.point.name}" if isinstance(outcome, InjectedFault) else ""
    event(f"{type(operation).__name__} -> {type(outcome).__name__}{reached}")

    refused_with = refusal(operation, model)
    if refused_with is not None:
        # Every fault point lies after the rule that refuses, so none may have fired.
        assert type(outcome) is refused_with, f"{operation} ended in {outcome!r}"
        assert switch.raised is None
    elif fault is not None:
        assert switch.raised is not None, f"{fault.name} was never reached by {operation}"
        assert switch.raised.point is fault
        assert outcome is switch.raised, f"the injected fault reached the caller as {outcome!r}"

    if refused_with is not None or fault is not None:
        assert after == before, f"the failed {operation} left a trace"
    else:
        apply(operation, model)
        assert not before.postings - after.postings, "committed postings disappeared"
        new_entries = {entry_id for entry_id, _, _ in after.postings - before.postings}
        assert len(new_entries) == 1, f"{operation} was recorded as {len(new_entries)} entries"
        [entry_id] = new_entries
        assert after.entry_count == before.entry_count + 1
        assert await books.entry(entry_id) == expected_entry(operation)
        assert_result_matches(operation, outcome, entry_id, model)

    assert after.balances == model
    await assert_balances_visible(harness.uow_factory, model)


async def assert_ledger_explains_balances(books: Books, model: Model) -> None:
    """Each wallet holds exactly the sum of the postings on its account."""
    postings = (await books.snapshot(list(model))).postings
    for wallet_id, balance in model.items():
        account = wallet_account(wallet_id)
        posted = sum(
            (delta * n for (_, posted_to, delta), n in postings.items() if posted_to == account),
            Decimal(0),
        )
        assert posted == balance, f"the postings of {account} add up to {posted}, not {balance}"


@settings(
    # The store or database is shared by the examples on purpose: each one opens its own wallets.
    suppress_health_check=[*settings().suppress_health_check, HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_balances_and_the_ledger_match_a_model_whatever_fails(
    harness: Harness[Books], data: st.DataObject
) -> None:
    wallet_count = data.draw(st.integers(min_value=2, max_value=4), label="wallets")
    wallets = [await open_wallet(harness.uow_factory) for _ in range(wallet_count)]
    model: Model = dict.fromkeys(wallets, Decimal(0))

    # Funded wallets first, so that many of the random transfers can succeed.
    for wallet in wallets:
        funding = data.draw(st.none() | amounts, label="funding")
        if funding is not None:
            await perform_and_check(harness, wallets, model, Deposit(wallet, funding), None)

    for _ in range(data.draw(st.integers(min_value=1, max_value=12), label="operations")):
        operation = draw_operation(data, wallets, model)
        # A fault in one operation of three: the others build up the balances that transfers need.
        inject = data.draw(st.sampled_from((False, False, True)), label="inject a fault?")
        fault = data.draw(st.sampled_from(harness.fault_points), label="fault") if inject else None
        await perform_and_check(harness, wallets, model, operation, fault)

    await assert_ledger_explains_balances(harness.books, model)
    await assert_books_balanced(harness.books)
