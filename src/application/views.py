"""Results shared by several use cases."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from application.models import Result
from domain.tasks import Task, TaskStatus
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


class TaskView(Result):
    id: UUID
    title: str
    description: str
    status: TaskStatus
    creator_id: UUID
    assignee_id: UUID | None
    parent_id: UUID | None
    dependency_ids: list[UUID]
    bounty: Decimal
    deleted_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, task: Task) -> TaskView:
        return cls(
            id=task.id,
            title=task.title,
            description=task.description,
            status=task.status,
            creator_id=task.creator_id,
            assignee_id=task.assignee_id,
            parent_id=task.parent_id,
            dependency_ids=sorted(task.dependency_ids),
            bounty=task.bounty.value,
            deleted_at=task.deleted_at,
            created_at=task.created_at,
            updated_at=task.updated_at,
            version=task.version,
        )
