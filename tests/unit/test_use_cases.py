"""Every use case, run against the in-memory fakes."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pydantic
import pytest

from application.ports.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory
from application.use_cases import (
    DepositCredits,
    DepositCreditsCommand,
    GetWallet,
    GetWalletQuery,
    GetWalletStatement,
    OpenWallet,
    OpenWalletCommand,
    RegisterUser,
    RegisterUserCommand,
    TransferCredits,
    TransferCreditsCommand,
    WalletStatementQuery,
)
from application.views import UserView, WalletView
from domain.errors import Conflict, InactiveUser, InsufficientFunds, InvalidTransfer, NotFound
from domain.ledger import MINT_ACCOUNT, EntryKind
from infrastructure.in_memory import InMemoryStore


async def register(uow_factory: UnitOfWorkFactory, name: str) -> UserView:
    command = RegisterUserCommand.model_validate({"email": f"{name}@example.com", "username": name})
    return await RegisterUser(uow_factory)(command)


async def open_funded_wallet(
    uow_factory: UnitOfWorkFactory, name: str, amount: str | None = None
) -> WalletView:
    user = await register(uow_factory, name)
    wallet = await OpenWallet(uow_factory)(OpenWalletCommand(owner_id=user.id))
    if amount is None:
        return wallet
    return await deposit(uow_factory, wallet, amount)


async def deposit(uow_factory: UnitOfWorkFactory, wallet: WalletView, amount: str) -> WalletView:
    command = DepositCreditsCommand.model_validate({"wallet_id": wallet.id, "amount": amount})
    return await DepositCredits(uow_factory)(command)


def transfer_command(source: Any, target: Any, amount: str) -> TransferCreditsCommand:
    return TransferCreditsCommand.model_validate(
        {"source_wallet_id": source, "target_wallet_id": target, "amount": amount}
    )


def postings_by_account(store: InMemoryStore) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for entry in store.entries:
        for posting in entry.postings:
            totals[posting.account] = totals.get(posting.account, Decimal(0)) + posting.delta
    return totals


async def test_register_user_stores_an_active_user(
    fake_uow_factory: UnitOfWorkFactory, store: InMemoryStore
) -> None:
    user = await register(fake_uow_factory, "ada")
    assert (user.email, user.username, user.active) == ("ada@example.com", "ada", True)
    assert store.users[user.id].email == "ada@example.com"


async def test_register_user_refuses_a_taken_email_whatever_its_case(
    fake_uow_factory: UnitOfWorkFactory, store: InMemoryStore
) -> None:
    await register(fake_uow_factory, "ada")
    command = RegisterUserCommand.model_validate({"email": "ADA@example.com", "username": "ada2"})
    with pytest.raises(Conflict, match="email is already registered"):
        await RegisterUser(fake_uow_factory)(command)
    assert len(store.users) == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "not-an-email", "username": "ada"},
        {"email": "ada@example.com", "username": "a"},
        {"email": "ada@example.com"},
        {"email": "ada@example.com", "username": "ada", "admin": True},
        {"email": 42, "username": "ada"},
    ],
)
def test_register_user_command_refuses_bad_input(fields: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        RegisterUserCommand.model_validate(fields)


async def test_open_wallet_opens_an_empty_wallet_for_the_owner(
    fake_uow_factory: UnitOfWorkFactory,
) -> None:
    user = await register(fake_uow_factory, "ada")
    wallet = await OpenWallet(fake_uow_factory)(OpenWalletCommand(owner_id=user.id))
    assert (wallet.owner_id, wallet.balance, wallet.version) == (user.id, Decimal("0.00"), 1)


async def test_open_wallet_for_an_unknown_user_is_not_found(
    fake_uow_factory: UnitOfWorkFactory, store: InMemoryStore
) -> None:
    with pytest.raises(NotFound, match="user"):
        await OpenWallet(fake_uow_factory)(OpenWalletCommand(owner_id=uuid4()))
    assert store.wallets == {}


async def test_open_wallet_twice_for_one_user_is_a_conflict(
    fake_uow_factory: UnitOfWorkFactory, store: InMemoryStore
) -> None:
    wallet = await open_funded_wallet(fake_uow_factory, "ada")
    with pytest.raises(Conflict, match="already has a wallet"):
        await OpenWallet(fake_uow_factory)(OpenWalletCommand(owner_id=wallet.owner_id))
    assert list(store.wallets) == [wallet.id]


async def test_open_wallet_for_a_deactivated_user_is_refused(
    fake_uow_factory: UnitOfWorkFactory, store: InMemoryStore
) -> None:
    user = await register(fake_uow_factory, "ada")
    store.users[user.id].deactivate()
    with pytest.raises(InactiveUser):
        await OpenWallet(fake_uow_factory)(OpenWalletCommand(owner_id=user.id))


async def test_deposit_credits_the_wallet_from_the_mint(
    fake_uow_factory: UnitOfWorkFactory, store: InMemoryStore
) -> None:
    wallet = await open_funded_wallet(fake_uow_factory, "ada", "12.34")
    assert (wallet.balance, wallet.version) == (Decimal("12.34"), 2)
    assert postings_by_account(store) == {
        MINT_ACCOUNT: Decimal("-12.34"),
        f"wallet:{wallet.id}": Decimal("12.34"),
    }


async def test_deposit_into_an_unknown_wallet_is_not_found_and_mints_nothing(
    fake_uow_factory: UnitOfWorkFactory, store: InMemoryStore
) -> None:
    command = DepositCreditsCommand.model_validate({"wallet_id": uuid4(), "amount": "1"})
    with pytest.raises(NotFound, match="wallet"):
        await DepositCredits(fake_uow_factory)(command)
    assert store.entries == []


@pytest.mark.parametrize(
    "amount", ["0", "-1", "NaN", "Infinity", "1.005", "1e30", "ten", 1.5, None, True]
)
def test_deposit_command_refuses_amounts_that_are_not_exact_positive_credits(
    amount: object,
) -> None:
    with pytest.raises(pydantic.ValidationError, match="amount"):
        DepositCreditsCommand.model_validate({"wallet_id": uuid4(), "amount": amount})


async def test_transfer_moves_credits_and_records_one_balanced_entry(
    fake_uow_factory: UnitOfWorkFactory, store: InMemoryStore
) -> None:
    source = await open_funded_wallet(fake_uow_factory, "ada", "100")
    target = await open_funded_wallet(fake_uow_factory, "bob")
    receipt = await TransferCredits(fake_uow_factory)(
        transfer_command(source.id, target.id, "30.50")
    )
    assert (receipt.source_balance, receipt.target_balance) == (Decimal("69.50"), Decimal("30.50"))
    [entry] = [entry for entry in store.entries if entry.id == receipt.entry_id]
    assert entry.kind is EntryKind.TRANSFER
    assert sum(posting.delta for posting in entry.postings) == 0
    assert store.wallets[source.id].balance.value == Decimal("69.50")
    assert store.wallets[target.id].balance.value == Decimal("30.50")


async def test_transfer_beyond_the_balance_changes_nothing(
    fake_uow_factory: UnitOfWorkFactory, store: InMemoryStore
) -> None:
    source = await open_funded_wallet(fake_uow_factory, "ada", "10")
    target = await open_funded_wallet(fake_uow_factory, "bob")
    entries_before = list(store.entries)
    with pytest.raises(InsufficientFunds):
        await TransferCredits(fake_uow_factory)(transfer_command(source.id, target.id, "10.01"))
    assert store.entries == entries_before
    assert store.wallets[source.id].balance.value == Decimal("10.00")
    assert store.wallets[target.id].balance.value == Decimal("0.00")


async def test_transfer_to_the_same_wallet_is_refused(
    fake_uow_factory: UnitOfWorkFactory,
) -> None:
    wallet = await open_funded_wallet(fake_uow_factory, "ada", "10")
    with pytest.raises(InvalidTransfer):
        await TransferCredits(fake_uow_factory)(transfer_command(wallet.id, wallet.id, "1"))


async def test_transfer_with_an_unknown_wallet_is_not_found(
    fake_uow_factory: UnitOfWorkFactory, store: InMemoryStore
) -> None:
    source = await open_funded_wallet(fake_uow_factory, "ada", "10")
    with pytest.raises(NotFound, match="wallet"):
        await TransferCredits(fake_uow_factory)(transfer_command(source.id, uuid4(), "1"))
    assert store.wallets[source.id].balance.value == Decimal("10.00")


async def test_each_call_opens_a_unit_of_its_own(fake_uow_factory: UnitOfWorkFactory) -> None:
    opened: list[AbstractUnitOfWork] = []

    def recording_factory(*, read_only: bool = False) -> AbstractUnitOfWork:
        opened.append(fake_uow_factory(read_only=read_only))
        return opened[-1]

    source = await open_funded_wallet(fake_uow_factory, "ada", "10")
    target = await open_funded_wallet(fake_uow_factory, "bob")
    transfer = TransferCredits(recording_factory)
    await asyncio.gather(*(transfer(transfer_command(source.id, target.id, "1")) for _ in range(3)))
    assert len({id(uow) for uow in opened}) == 3
    balance = await GetWallet(fake_uow_factory)(GetWalletQuery(wallet_id=source.id))
    assert balance.balance == Decimal("7.00")


async def test_get_wallet_shows_the_committed_balance(fake_uow_factory: UnitOfWorkFactory) -> None:
    wallet = await open_funded_wallet(fake_uow_factory, "ada", "5")
    shown = await GetWallet(fake_uow_factory)(GetWalletQuery(wallet_id=wallet.id))
    assert shown == wallet


async def test_get_wallet_of_an_unknown_id_is_not_found(
    fake_uow_factory: UnitOfWorkFactory,
) -> None:
    with pytest.raises(NotFound):
        await GetWallet(fake_uow_factory)(GetWalletQuery(wallet_id=uuid4()))


async def test_statement_lists_postings_newest_first_a_page_at_a_time(
    fake_uow_factory: UnitOfWorkFactory,
) -> None:
    wallet = await open_funded_wallet(fake_uow_factory, "ada", "1")
    other = await open_funded_wallet(fake_uow_factory, "bob", "50")
    await deposit(fake_uow_factory, wallet, "2")
    await TransferCredits(fake_uow_factory)(transfer_command(other.id, wallet.id, "3"))
    await TransferCredits(fake_uow_factory)(transfer_command(wallet.id, other.id, "4"))

    statement = GetWalletStatement(fake_uow_factory)
    first = await statement(WalletStatementQuery(wallet_id=wallet.id, limit=3))
    rest = await statement(WalletStatementQuery(wallet_id=wallet.id, limit=3, offset=3))

    assert (first.total, first.balance) == (4, Decimal("2.00"))
    assert [line.amount for line in first.lines] == [Decimal(-4), Decimal(3), Decimal(2)]
    assert [line.kind for line in first.lines] == [EntryKind.TRANSFER] * 2 + [EntryKind.DEPOSIT]
    assert [line.amount for line in rest.lines] == [Decimal(1)]


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (501, 0), (10, -1)])
def test_statement_query_refuses_pages_out_of_bounds(limit: int, offset: int) -> None:
    with pytest.raises(pydantic.ValidationError):
        WalletStatementQuery(wallet_id=uuid4(), limit=limit, offset=offset)
