from decimal import Decimal

import pytest

from domain.credits import Credits
from domain.errors import InactiveUser, InsufficientFunds, InvalidTransfer, UnbalancedEntry
from domain.events import CreditsDeposited, CreditsTransferred, WalletOpened
from domain.ledger import MINT_ACCOUNT, EntryKind, LedgerEntry, Posting
from domain.wallets import Wallet
from tests.builders import new_user


def funded_wallet(balance: str) -> Wallet:
    wallet = Wallet.open_for(new_user())
    wallet.deposit(Credits.positive(balance))
    wallet.pull_events()
    return wallet


def test_a_new_wallet_is_empty_and_records_that_it_was_opened() -> None:
    user = new_user()
    wallet = Wallet.open_for(user)
    assert (wallet.owner_id, wallet.balance, wallet.version) == (user.id, Credits.zero(), 1)
    assert [type(event) for event in wallet.pull_events()] == [WalletOpened]


def test_a_deactivated_user_cannot_open_a_wallet() -> None:
    user = new_user()
    user.deactivate()
    with pytest.raises(InactiveUser):
        Wallet.open_for(user)


def test_a_deposit_is_minted_by_a_balanced_entry() -> None:
    wallet = Wallet.open_for(new_user())
    wallet.pull_events()
    entry = wallet.deposit(Credits.positive("25.5"))
    assert wallet.balance == Credits.positive("25.50")
    assert entry.kind is EntryKind.DEPOSIT
    assert {(p.account, p.delta) for p in entry.postings} == {
        (MINT_ACCOUNT, Decimal("-25.50")),
        (wallet.account, Decimal("25.50")),
    }
    [event] = wallet.pull_events()
    assert isinstance(event, CreditsDeposited)
    assert event.entry_id == entry.id


def test_a_transfer_moves_credits_and_balances_the_books() -> None:
    source, target = funded_wallet("10"), funded_wallet("1")
    entry = source.transfer_to(target, Credits.positive("4.25"))
    assert (source.balance.value, target.balance.value) == (Decimal("5.75"), Decimal("5.25"))
    assert sum(posting.delta for posting in entry.postings) == 0
    [event] = source.pull_events()
    assert isinstance(event, CreditsTransferred)
    assert (event.source_wallet_id, event.target_wallet_id) == (source.id, target.id)


def test_a_transfer_beyond_the_balance_changes_nothing() -> None:
    source, target = funded_wallet("10"), funded_wallet("1")
    with pytest.raises(InsufficientFunds, match=r"holds 10\.00 credits, 10\.01 were asked for"):
        source.transfer_to(target, Credits.positive("10.01"))
    assert (source.balance.value, target.balance.value) == (Decimal("10.00"), Decimal("1.00"))
    assert source.pull_events() == []


def test_the_whole_balance_can_be_transferred() -> None:
    source, target = funded_wallet("10"), funded_wallet("1")
    source.transfer_to(target, Credits.positive("10"))
    assert source.balance == Credits.zero()


def test_a_wallet_cannot_transfer_to_itself() -> None:
    wallet = funded_wallet("10")
    with pytest.raises(InvalidTransfer):
        wallet.transfer_to(wallet, Credits.positive("1"))
    assert wallet.balance.value == Decimal("10.00")


def test_an_entry_whose_postings_do_not_sum_to_zero_is_refused() -> None:
    with pytest.raises(UnbalancedEntry, match="do not sum to zero"):
        LedgerEntry(
            kind=EntryKind.DEPOSIT,
            postings=(Posting("a", Decimal("-1")), Posting("b", Decimal("2"))),
        )


def test_an_entry_needs_two_postings_and_no_posting_moves_nothing() -> None:
    with pytest.raises(UnbalancedEntry, match="at least two"):
        LedgerEntry(kind=EntryKind.DEPOSIT, postings=(Posting("a", Decimal("1")),))
    with pytest.raises(UnbalancedEntry, match="non-zero"):
        Posting("a", Decimal("0"))
