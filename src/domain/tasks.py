"""Tasks: work that moves from todo to done, optionally funded by a bounty held in escrow."""

from __future__ import annotations

import enum
import re
from collections.abc import Collection
from datetime import datetime
from uuid import UUID, uuid4

from domain.credits import Credits
from domain.errors import (
    DependencyCycle,
    DependencyNotDone,
    IllegalTransition,
    InactiveUser,
    InvalidValue,
    NotFound,
    NotPermitted,
)
from domain.events import Aggregate, BountyPaid, TaskCreated, TaskStatusChanged, utc_now
from domain.ledger import EntryKind, LedgerEntry
from domain.users import User
from domain.wallets import Wallet

MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 10_000
# C0 and C1 controls: some terminals act on C1 codes such as U+009B as escape sequences.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class TaskRole(enum.StrEnum):
    """Who may change a task: its creator assigns, cancels, deletes, restores it and adds its
    dependencies; its assignee starts and completes it."""

    CREATOR = "creator"
    ASSIGNEE = "assignee"


class TaskStatus(enum.StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        return self in (TaskStatus.TODO, TaskStatus.IN_PROGRESS)


def normalize_title(raw: str) -> str:
    title = raw.strip()
    if not title:
        raise InvalidValue("a task needs a title")
    if len(title) > MAX_TITLE_LENGTH:
        raise InvalidValue(f"a title has at most {MAX_TITLE_LENGTH} characters")
    if _CONTROL.search(title):
        raise InvalidValue("a title cannot contain control characters")
    return title


def normalize_description(raw: str) -> str:
    if len(raw) > MAX_DESCRIPTION_LENGTH:
        raise InvalidValue(f"a description has at most {MAX_DESCRIPTION_LENGTH} characters")
    if _CONTROL_BUT_LINES.search(raw):
        raise InvalidValue(
            "a description cannot contain control characters but tabs and line breaks"
        )
    return raw


class Task(Aggregate):
    """A unit of work. Its bounty is in escrow from creation until it is done or cancelled."""

    def __init__(
        self,
        *,
        id: UUID,
        title: str,
        description: str,
        status: TaskStatus,
        creator_id: UUID,
        assignee_id: UUID | None,
        parent_id: UUID | None,
        dependency_ids: frozenset[UUID],
        bounty: Credits,
        deleted_at: datetime | None,
        created_at: datetime,
        updated_at: datetime,
        version: int,
    ) -> None:
        super().__init__()
        self.id = id
        self.title = normalize_title(title)
        self.description = normalize_description(description)
        self.status = status
        self.creator_id = creator_id
        self.assignee_id = assignee_id
        self.parent_id = parent_id
        self.dependency_ids = dependency_ids
        self.bounty = bounty
        self.deleted_at = deleted_at
        self.created_at = created_at
        self.updated_at = updated_at
        self.version = version

    @classmethod
    def create(
        cls,
        *,
        creator: User,
        title: str,
        description: str = "",
        parent: Task | None = None,
        dependencies: Collection[Task] = (),
        bounty: Credits | None = None,
        funding_wallet: Wallet | None = None,
        task_id: UUID | None = None,
    ) -> tuple[Task, LedgerEntry | None]:
        """A new task to do; with a bounty, the entry that moves it from the creator's wallet."""
        if not creator.active:
            raise InactiveUser(f"user {creator.id} is deactivated and cannot create tasks")
        for related in (*([parent] if parent else []), *dependencies):
            if related.deleted_at is not None:
                raise IllegalTransition(f"task {related.id} is deleted and cannot be referred to")
        now = utc_now()
        task = cls(
            id=task_id or uuid4(),
            title=title,
            description=description,
            status=TaskStatus.TODO,
            creator_id=creator.id,
            assignee_id=None,
            parent_id=parent.id if parent else None,
            dependency_ids=frozenset(dependency.id for dependency in dependencies),
            bounty=bounty or Credits.zero(),
            deleted_at=None,
            created_at=now,
            updated_at=now,
            version=1,
        )
        if task.id in task.dependency_ids or task.id == task.parent_id:
            raise DependencyCycle("a task cannot depend on itself or be its own parent")
        task.record(TaskCreated(task_id=task.id, creator_id=creator.id, bounty=task.bounty))
        if task.bounty.value == 0:
            return task, None
        wallet = _wallet_of(task.creator_id, funding_wallet)
        return task, wallet.fund_escrow(task.id, task.bounty)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def assign(self, assignee: User) -> None:
        self._require_open("be assigned")
        if not assignee.active:
            raise InactiveUser(f"user {assignee.id} is deactivated and cannot be assigned")
        self.assignee_id = assignee.id
        self._touch()

    def check_transition(self, status: TaskStatus) -> None:
        """Raise `IllegalTransition` unless the task may move to `status` now."""
        if status is TaskStatus.IN_PROGRESS:
            self._require_status(TaskStatus.TODO, "start")
        elif status is TaskStatus.DONE:
            self._require_status(TaskStatus.IN_PROGRESS, "complete")
        elif status is TaskStatus.CANCELLED:
            self._require_open("be cancelled")
        else:
            raise IllegalTransition(f"task {self.id} cannot go back to {status.value}")

    def start(self) -> None:
        self.check_transition(TaskStatus.IN_PROGRESS)
        if self.assignee_id is None:
            raise IllegalTransition(f"task {self.id} needs an assignee before it can start")
        self._move_to(TaskStatus.IN_PROGRESS)

    def complete(
        self, dependencies: Collection[Task], assignee_wallet: Wallet | None = None
    ) -> LedgerEntry | None:
        """Mark the task done and pay its bounty, if any, to the assignee's wallet."""
        self.check_transition(TaskStatus.DONE)
        if {dependency.id for dependency in dependencies} != self.dependency_ids:
            raise ValueError("complete() needs every dependency of the task")
        pending = sorted(str(d.id) for d in dependencies if d.status is not TaskStatus.DONE)
        if pending:
            raise DependencyNotDone(f"task {self.id} waits for {', '.join(pending)}")
        entry = self._release_bounty(self.assignee_id, assignee_wallet, EntryKind.PAYOUT)
        self._move_to(TaskStatus.DONE)
        return entry

    def cancel(self, creator_wallet: Wallet | None = None) -> LedgerEntry | None:
        """Cancel the task and refund its bounty, if any, to the creator's wallet."""
        self.check_transition(TaskStatus.CANCELLED)
        entry = self._release_bounty(self.creator_id, creator_wallet, EntryKind.REFUND)
        self._move_to(TaskStatus.CANCELLED)
        return entry

    def check_actor(self, actor_id: UUID, role: TaskRole) -> None:
        """`NotPermitted` unless `actor_id` holds `role` on this task."""
        holder = self.creator_id if role is TaskRole.CREATOR else self.assignee_id
        if actor_id != holder:
            raise NotPermitted(f"only the {role} of task {self.id} may do this")

    def delete(self) -> None:
        if self.is_deleted:
            raise IllegalTransition(f"task {self.id} is already deleted")
        self.deleted_at = utc_now()
        self._touch()

    def restore(self) -> None:
        if not self.is_deleted:
            raise IllegalTransition(f"task {self.id} is not deleted")
        self.deleted_at = None
        self._touch()

    def depend_on(self, other: Task, reachable_from_other: Collection[UUID]) -> None:
        """Make this task wait for `other`; `reachable_from_other` is everything it waits for."""
        self._require_open("gain a dependency")
        if other.is_deleted:
            raise IllegalTransition(f"task {other.id} is deleted and cannot be depended on")
        if other.id == self.id or self.id in reachable_from_other:
            raise DependencyCycle(f"task {self.id} would end up depending on itself")
        self.dependency_ids = self.dependency_ids | {other.id}
        self._touch()

    def _release_bounty(
        self, payee_id: UUID | None, wallet: Wallet | None, kind: EntryKind
    ) -> LedgerEntry | None:
        if self.bounty.value == 0:
            return None
        assert payee_id is not None, "a started task always has an assignee"
        payee = _wallet_of(payee_id, wallet)
        entry = payee.receive_escrow(self.id, self.bounty, kind)
        self.record(
            BountyPaid(task_id=self.id, wallet_id=payee.id, amount=self.bounty, entry_id=entry.id)
        )
        return entry

    def _require_open(self, action: str) -> None:
        self._require_not_deleted(action)
        if not self.status.is_open:
            raise IllegalTransition(f"task {self.id} is {self.status.value} and cannot {action}")

    def _require_status(self, status: TaskStatus, action: str) -> None:
        self._require_not_deleted(action)
        if self.status is not status:
            raise IllegalTransition(f"task {self.id} is {self.status.value} and cannot {action}")

    def _require_not_deleted(self, action: str) -> None:
        if self.is_deleted:
            raise IllegalTransition(f"task {self.id} is deleted and cannot {action}")

    def _move_to(self, status: TaskStatus) -> None:
        self.status = status
        self._touch()
        self.record(TaskStatusChanged(task_id=self.id, status=status.value))

    def _touch(self) -> None:
        self.updated_at = utc_now()


def _wallet_of(owner_id: UUID, wallet: Wallet | None) -> Wallet:
    """The wallet a bounty moves from or to: it must be there, and be the owner's."""
    if wallet is None:
        raise NotFound("wallet of user", owner_id)
    if wallet.owner_id != owner_id:
        raise ValueError(f"wallet {wallet.id} does not belong to user {owner_id}")
    return wallet
