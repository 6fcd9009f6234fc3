"""Wallets: a user's balance of credits, changed only by balanced ledger entries."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from domain.credits import Credits
from domain.errors import InactiveUser, InsufficientFunds, InvalidTransfer
from domain.events import Aggregate, CreditsDeposited, CreditsTransferred, WalletOpened, utc_now
from domain.ledger import MINT_ACCOUNT, EntryKind, LedgerEntry, escrow_account, wallet_account
from domain.users import User


class Wallet(Aggregate):
    def __init__(
        self,
        *,
        id: UUID,
        owner_id: UUID,
        balance: Credits,
        version: int,
        created_at: datetime,
        updated_at: datetime,
    ) -> None:
        super().__init__()
        self.id = id
        self.owner_id = owner_id
        self.balance = balance
        self.version = version
        self.created_at = created_at
        self.updated_at = updated_at

    @classmethod
    def open_for(cls, owner: User) -> Wallet:
        if not owner.active:
            raise InactiveUser(f"user {owner.id} is deactivated and cannot open a wallet")
        now = utc_now()
        wallet = cls(
            id=uuid4(),
            owner_id=owner.id,
            balance=Credits.zero(),
            version=1,
            created_at=now,
            updated_at=now,
        )
        wallet.record(WalletOpened(wallet_id=wallet.id, owner_id=owner.id))
        return wallet

    @property
    def account(self) -> str:
        return wallet_account(self.id)

    def deposit(self, amount: Credits) -> LedgerEntry:
        """Mint `amount` into this wallet; returns the entry that records it."""
        self._credit(amount)
        entry = LedgerEntry.movement(EntryKind.DEPOSIT, MINT_ACCOUNT, self.account, amount)
        self.record(CreditsDeposited(wallet_id=self.id, amount=amount, entry_id=entry.id))
        return entry

    def transfer_to(self, target: Wallet, amount: Credits) -> LedgerEntry:
        """Move `amount` from this wallet to `target`; returns the entry that records it."""
        if target.id == self.id:
            raise InvalidTransfer("a wallet cannot transfer credits to itself")
        self._debit(amount)
        target._credit(amount)
        entry = LedgerEntry.movement(EntryKind.TRANSFER, self.account, target.account, amount)
        self.record(
            CreditsTransferred(
                source_wallet_id=self.id,
                target_wallet_id=target.id,
                amount=amount,
                entry_id=entry.id,
            )
        )
        return entry

    def fund_escrow(self, task_id: UUID, amount: Credits) -> LedgerEntry:
        """Move `amount` from this wallet into the escrow of task `task_id`."""
        self._debit(amount)
        return LedgerEntry.movement(EntryKind.ESCROW, self.account, escrow_account(task_id), amount)

    def receive_escrow(self, task_id: UUID, amount: Credits, kind: EntryKind) -> LedgerEntry:
        """Release `amount` from the escrow of task `task_id` into this wallet."""
        self._credit(amount)
        return LedgerEntry.movement(kind, escrow_account(task_id), self.account, amount)

    def _credit(self, amount: Credits) -> None:
        self.balance = self.balance + amount
        self.updated_at = utc_now()

    def _debit(self, amount: Credits) -> None:
        if amount > self.balance:
            raise InsufficientFunds(
                f"wallet {self.id} holds {self.balance} credits, {amount} were asked for"
            )
        self.balance = self.balance - amount
        self.updated_at = utc_now()
