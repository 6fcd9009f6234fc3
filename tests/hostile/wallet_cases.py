"""Hostile commands for the use cases of users and wallets."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from domain.errors import (
    Conflict,
    InactiveUser,
    InsufficientFunds,
    InvalidAmount,
    InvalidTransfer,
    NotFound,
)
from tests.hostile.cases import Case, invalid, one_of, refused, with_extra_field
from tests.hostile.values import (
    LARGEST_AMOUNT,
    bad_amounts,
    bad_emails,
    bad_usernames,
    malformed_ids,
    unknown_ids,
)
from tests.hostile.world import ALICE_BALANCE, Ref

# Any of these, and less than nothing would be left in Alice's wallet.
beyond_alice = st.integers(int(ALICE_BALANCE * 100) + 1, int(LARGEST_AMOUNT * 100)).map(
    lambda n: str(Decimal(n).scaleb(-2))
)
fresh_names = st.integers(0, 10**6).map(lambda n: f"new{n}")

WALLET_COMMANDS: dict[str, st.SearchStrategy[Case]] = {
    "register_user": st.one_of(
        invalid("register_user", "email", bad_emails, username="newcomer"),
        invalid("register_user", "username", bad_usernames, email="newcomer@example.com"),
        refused(
            "register_user",
            (Conflict,),
            email=st.sampled_from(["alice@example.com", " ALICE@Example.COM "]),
            username=fresh_names,
        ),
        refused(
            "register_user",
            (Conflict,),
            email=fresh_names.map(lambda name: f"{name}@example.com"),
            username=st.sampled_from(["alice", "BOB", " walt "]),
        ),
        with_extra_field("register_user", email="newcomer@example.com", username="newcomer"),
    ),
    "open_wallet": st.one_of(
        invalid("open_wallet", "owner_id", malformed_ids),
        refused("open_wallet", (NotFound,), owner_id=unknown_ids),
        refused("open_wallet", (Conflict,), owner_id=one_of(Ref.ALICE, Ref.BOB)),
        refused("open_wallet", (InactiveUser,), owner_id=st.just(Ref.INACTIVE)),
    ),
    "deposit_credits": st.one_of(
        invalid("deposit_credits", "amount", bad_amounts, wallet_id=Ref.ALICE_WALLET),
        invalid("deposit_credits", "wallet_id", malformed_ids, amount="1"),
        refused("deposit_credits", (NotFound,), wallet_id=unknown_ids, amount=st.just("1")),
        # Within bounds on its own, beyond them once added to what the wallet holds.
        refused(
            "deposit_credits",
            (InvalidAmount,),
            wallet_id=st.just(Ref.ALICE_WALLET),
            amount=st.integers(int(LARGEST_AMOUNT - ALICE_BALANCE) + 1, int(LARGEST_AMOUNT)),
        ),
    ),
    "transfer_credits": st.one_of(
        *(
            invalid(
                "transfer_credits",
                field,
                bad,
                source_wallet_id=Ref.ALICE_WALLET,
                target_wallet_id=Ref.BOB_WALLET,
                amount="1",
            )
            for field, bad in (
                ("amount", bad_amounts),
                ("source_wallet_id", malformed_ids),
                ("target_wallet_id", malformed_ids),
            )
        ),
        refused(
            "transfer_credits",
            (InvalidTransfer,),
            source_wallet_id=st.just(Ref.ALICE_WALLET),
            target_wallet_id=st.just(Ref.ALICE_WALLET),
            amount=st.just("1"),
        ),
        refused(
            "transfer_credits",
            (NotFound,),
            source_wallet_id=unknown_ids | st.just(Ref.BOB_WALLET),
            target_wallet_id=unknown_ids,
            amount=st.just("1"),
        ),
        refused(
            "transfer_credits",
            (NotFound,),
            source_wallet_id=unknown_ids,
            target_wallet_id=st.just(Ref.BOB_WALLET),
            amount=st.just("1"),
        ),
        refused(
            "transfer_credits",
            (InsufficientFunds,),
            source_wallet_id=st.just(Ref.ALICE_WALLET),
            target_wallet_id=st.just(Ref.BOB_WALLET),
            amount=beyond_alice,
        ),
    ),
}
