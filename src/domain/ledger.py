"""The double-entry ledger: every movement of credits is an entry whose postings sum to zero."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from domain.credits import Credits, exact_decimal
from domain.errors import UnbalancedEntry
from domain.events import utc_now

MINT_ACCOUNT = "mint"
"""The external account that deposits come from, so that the books always balance."""


def wallet_account(wallet_id: UUID) -> str:
    return f"wallet:{wallet_id}"


def escrow_account(task_id: UUID) -> str:
    """Where a task's bounty waits between its creation and its completion or cancellation."""
    return f"escrow:{task_id}"


class EntryKind(enum.StrEnum):
    DEPOSIT = "deposit"
    TRANSFER = "transfer"
    ESCROW = "escrow"
    PAYOUT = "payout"
    REFUND = "refund"


@dataclass(frozen=True, slots=True)
class Posting:
    """One side of an entry: a signed change to one account (credit positive, debit negative)."""

    account: str
    delta: Decimal

    def __post_init__(self) -> None:
        exact_decimal(self.delta)
        if self.delta == 0:
            raise UnbalancedEntry("a posting must move a non-zero amount")


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """An append-only record of one movement; its postings always sum to zero."""

    kind: EntryKind
    postings: tuple[Posting, ...]
    id: UUID = field(default_factory=uuid4)
    created_at: datetime = field(default_factory=utc_now)

    def __post_init__(self) -> None:
        if len(self.postings) < 2:
            raise UnbalancedEntry("an entry needs at least two postings")
        if sum(posting.delta for posting in self.postings) != 0:
            raise UnbalancedEntry(f"the postings of entry {self.id} do not sum to zero")

    @classmethod
    def movement(cls, kind: EntryKind, source: str, target: str, amount: Credits) -> LedgerEntry:
        """An entry that moves `amount` from the `source` account to the `target` account."""
        return cls(
            kind=kind,
            postings=(Posting(source, -amount.value), Posting(target, amount.value)),
        )


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One posting of an account as its owner sees it."""

    entry_id: UUID
    kind: EntryKind
    delta: Decimal
    created_at: datetime
