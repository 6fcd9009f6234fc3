"""Results shared by several use cases."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from application.models import Result
from domain.users import User
from domain.wallets import Wallet


class UserView(Result):
    id: UUID
    email: str
    username: str
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id,
            email=user.email,
            username=user.username,
            active=user.active,
            created_at=user.created_at,
        )


class WalletView(Result):
    id: UUID
    owner_id: UUID
    balance: Decimal
    version: int
    updated_at: datetime

    @classmethod
    def of(cls, wallet: Wallet) -> WalletView:
        return cls(
            id=wallet.id,
            owner_id=wallet.owner_id,
            balance=wallet.balance.value,
            version=wallet.version,
            updated_at=wallet.updated_at,
        )
