"""A plain model of Keel's wallets, tasks and idempotency keys, and the invariants of storage.

`predict` says what one command does to the model: applied (with the model afterwards and a
check of the use case's result), refused (with the domain error), or replayed (an idempotency
key seen before, with the same command: the stored result, nothing applied). `broken_invariants`
holds what storage holds against the model and against the rules that hold whatever happened.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel

from application.errors import IdempotencyKeyReused
from application.use_cases import DepositCreditsCommand, TransferCreditsCommand, TransferReceipt
from application.use_cases.tasks.changing import AssignTaskCommand, TaskCommand
from application.use_cases.tasks.creating import CreateTaskCommand
from application.views import TaskView, WalletView
from domain.errors import Conflict, InsufficientFunds, InvalidTransfer, NotFound
from domain.errors import IllegalTransition as Illegal
from domain.ledger import MINT_ACCOUNT, escrow_account, wallet_account
from domain.tasks import TaskStatus
from tests.property.stored_state import StoredState, StoredTask


@dataclass(frozen=True)
class ModelTask:
    creator: UUID
    bounty: Decimal
    status: TaskStatus = TaskStatus.TODO
    assignee: UUID | None = None

    @property
    def escrow(self) -> Decimal:
        """What the task's escrow account holds: its bounty while it is open."""
        return self.bounty if self.status.is_open else Decimal(0)


@dataclass(frozen=True)
class KeyedRun:
    """A keyed command that was applied, and the result its key now stands for."""

    operation: str
    command: BaseModel
    result: BaseModel


@dataclass
class Model:
    users: dict[str, UUID | None] = field(default_factory=dict)
    """Every user by email; None when its registration committed but its caller never heard."""
    balances: dict[UUID, Decimal] = field(default_factory=dict)
    """The balance of each user's wallet, by owner."""
    wallet_ids: dict[UUID, UUID] = field(default_factory=dict)
    """The owner of each wallet whose id the test knows."""
    tasks: dict[UUID, ModelTask] = field(default_factory=dict)
    minted: Decimal = Decimal(0)
    entries: int = 0
    keys: dict[str, KeyedRun] = field(default_factory=dict)

    def copy(self) -> Model:
        return replace(
            self,
            users=dict(self.users),
            balances=dict(self.balances),
            wallet_ids=dict(self.wallet_ids),
            tasks=dict(self.tasks),
            keys=dict(self.keys),
        )

    @property
    def user_ids(self) -> set[UUID]:
        return {user_id for user_id in self.users.values() if user_id is not None}

    def owner_of(self, wallet_id: UUID) -> UUID:
        if wallet_id not in self.wallet_ids:
            raise Refusal(NotFound)
        return self.wallet_ids[wallet_id]


class Refusal(Exception):
    """The model's refusal: the error the use case must raise, having applied nothing."""

    def __init__(self, error: type[Exception]) -> None:
        super().__init__(error.__name__)
        self.error = error


ResultCheck = Callable[[object], list[str]]
"""What a result disagrees with in the model after the command: nothing when it agrees."""


@dataclass(frozen=True)
class Applied:
    after: Model
    check: ResultCheck


@dataclass(frozen=True)
class Refused:
    error: type[Exception]


@dataclass(frozen=True)
class Replayed:
    result: BaseModel


Prediction = Applied | Refused | Replayed


def predict(model: Model, operation: str, command: BaseModel, key: str | None) -> Prediction:
    if key is not None and key in model.keys:
        run = model.keys[key]
        if (run.operation, run.command) == (operation, command):
            return Replayed(run.result)
        return Refused(IdempotencyKeyReused)
    after = model.copy()
    try:
        check = SIMULATIONS[operation](after, command)
    except Refusal as refusal:
        return Refused(refusal.error)
    return Applied(after, check)


def _differences(what: str, pairs: list[tuple[str, object, object]]) -> list[str]:
    return [
        f"{what} {name} is {actual!r}, the model says {expected!r}"
        for name, actual, expected in pairs
        if actual != expected
    ]


def _wallet_check(model: Model, wallet_id: UUID) -> ResultCheck:
    owner = model.wallet_ids[wallet_id]

    def check(result: object) -> list[str]:
        if not isinstance(result, WalletView):
            return [f"expected a WalletView, got {result!r}"]
        return _differences(
            "the wallet's",
            [
                ("id", result.id, wallet_id),
                ("owner", result.owner_id, owner),
                ("balance", result.balance, model.balances[owner]),
            ],
        )

    return check


def _task_check(model: Model, task_id: UUID) -> ResultCheck:
    task = model.tasks[task_id]

    def check(result: object) -> list[str]:
        if not isinstance(result, TaskView):
            return [f"expected a TaskView, got {result!r}"]
        return _differences(
            "the task's",
            [
                ("id", result.id, task_id),
                ("status", result.status, task.status),
                ("creator", result.creator_id, task.creator),
                ("assignee", result.assignee_id, task.assignee),
                ("bounty", result.bounty, task.bounty),
            ],
        )

    return check


def _deposit(model: Model, command: BaseModel) -> ResultCheck:
    assert isinstance(command, DepositCreditsCommand)
    owner = model.owner_of(command.wallet_id)
    model.balances[owner] += command.amount.value
    model.minted += command.amount.value
    model.entries += 1
    return _wallet_check(model, command.wallet_id)


def _transfer(model: Model, command: BaseModel) -> ResultCheck:
    assert isinstance(command, TransferCreditsCommand)
    source = model.owner_of(command.source_wallet_id)
    target = model.owner_of(command.target_wallet_id)
    if source == target:
        raise Refusal(InvalidTransfer)
    amount = command.amount.value
    if amount > model.balances[source]:
        raise Refusal(InsufficientFunds)
    model.balances[source] -= amount
    model.balances[target] += amount
    model.entries += 1

    def check(result: object) -> list[str]:
        if not isinstance(result, TransferReceipt):
            return [f"expected a TransferReceipt, got {result!r}"]
        return _differences(
            "the receipt's",
            [
                ("amount", result.amount, amount),
                ("source balance", result.source_balance, model.balances[source]),
                ("target balance", result.target_balance, model.balances[target]),
            ],
        )

    return check


def _create_task(model: Model, command: BaseModel) -> ResultCheck:
    assert isinstance(command, CreateTaskCommand)
    assert command.task_id is not None, "the test names every task it creates"
    if command.creator_id not in model.user_ids:
        raise Refusal(NotFound)
    bounty = command.bounty.value if command.bounty is not None else Decimal(0)
    if bounty:
        if command.creator_id not in model.balances:
            raise Refusal(NotFound)
        if bounty > model.balances[command.creator_id]:
            raise Refusal(InsufficientFunds)
    # The id's uniqueness is the database's to enforce: at the flush, after the rules.
    if command.task_id in model.tasks:
        raise Refusal(Conflict)
    if bounty:
        model.balances[command.creator_id] -= bounty
        model.entries += 1
    model.tasks[command.task_id] = ModelTask(creator=command.creator_id, bounty=bounty)
    return _task_check(model, command.task_id)


def _task(model: Model, task_id: UUID) -> ModelTask:
    if task_id not in model.tasks:
        raise Refusal(NotFound)
    return model.tasks[task_id]


def _assign(model: Model, command: BaseModel) -> ResultCheck:
    assert isinstance(command, AssignTaskCommand)
    task = _task(model, command.task_id)
    # The assignee is read before the task's rules are asked.
    if command.assignee_id not in model.user_ids:
        raise Refusal(NotFound)
    if not task.status.is_open:
        raise Refusal(Illegal)
    model.tasks[command.task_id] = replace(task, assignee=command.assignee_id)
    return _task_check(model, command.task_id)


def _start(model: Model, command: BaseModel) -> ResultCheck:
    assert isinstance(command, TaskCommand)
    task = _task(model, command.task_id)
    if task.status is not TaskStatus.TODO or task.assignee is None:
        raise Refusal(Illegal)
    model.tasks[command.task_id] = replace(task, status=TaskStatus.IN_PROGRESS)
    return _task_check(model, command.task_id)


def _release_bounty(model: Model, task: ModelTask, payee: UUID) -> None:
    if not task.bounty:
        return
    if payee not in model.balances:
        raise Refusal(NotFound)
    model.balances[payee] += task.bounty
    model.entries += 1


def _complete(model: Model, command: BaseModel) -> ResultCheck:
    assert isinstance(command, TaskCommand)
    task = _task(model, command.task_id)
    if task.status is not TaskStatus.IN_PROGRESS:
        raise Refusal(Illegal)
    assert task.assignee is not None, "a started task has an assignee"
    _release_bounty(model, task, task.assignee)
    model.tasks[command.task_id] = replace(task, status=TaskStatus.DONE)
    return _task_check(model, command.task_id)


def _cancel(model: Model, command: BaseModel) -> ResultCheck:
    assert isinstance(command, TaskCommand)
    task = _task(model, command.task_id)
    if not task.status.is_open:
        raise Refusal(Illegal)
    _release_bounty(model, task, task.creator)
    model.tasks[command.task_id] = replace(task, status=TaskStatus.CANCELLED)
    return _task_check(model, command.task_id)


SIMULATIONS: dict[str, Callable[[Model, BaseModel], ResultCheck]] = {
    "deposit_credits": _deposit,
    "transfer_credits": _transfer,
    "create_task": _create_task,
    "assign_task": _assign,
    "start_task": _start,
    "complete_task": _complete,
    "cancel_task": _cancel,
}


# --- Invariants of storage ------------------------------------------------------------------


def broken_invariants(stored: StoredState, model: Model) -> list[str]:
    """Each broken invariant, named, with what broke it; empty when storage is sound."""
    broken: list[str] = []

    def check(name: str, problems: list[str]) -> None:
        if problems:
            shown = "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
            broken.append(f"invariant {name!r} broken: {shown}")

    by_entry: defaultdict[UUID, list[Decimal]] = defaultdict(list)
    by_account: defaultdict[str, Decimal] = defaultdict(Decimal)
    for entry_id, account, delta in stored.postings:
        by_entry[entry_id].append(delta)
        by_account[account] += delta
    balances = dict(stored.wallets.values())
    escrow = sum(
        (total for account, total in by_account.items() if account.startswith("escrow:")),
        Decimal(0),
    )

    check(
        "every ledger entry's postings sum to zero",
        [
            f"entry {entry_id} posts {sum(deltas)} over {len(deltas)} postings"
            for entry_id, deltas in by_entry.items()
            if sum(deltas) != 0 or len(deltas) < 2
        ]
        + [f"entry {e} has no postings" for e in stored.entries - by_entry.keys()]
        + [f"postings of a missing entry {e}" for e in by_entry.keys() - stored.entries],
    )
    check(
        "no balance is negative",
        [f"wallet {w} holds {b}" for w, (_, b) in stored.wallets.items() if b < 0],
    )
    minted = -by_account[MINT_ACCOUNT]
    check(
        "wallet balances plus escrow equal the credits minted",
        [
            f"wallets hold {sum(balances.values(), Decimal(0))} and escrow {escrow}, "
            f"the mint issued {minted}"
        ]
        if sum(balances.values(), Decimal(0)) + escrow != minted
        else [],
    )
    check(
        "each wallet holds the sum of its postings",
        [
            f"wallet {w} holds {b}, its postings sum to {by_account[wallet_account(w)]}"
            for w, (_, b) in stored.wallets.items()
            if by_account[wallet_account(w)] != b
        ],
    )
    check(
        "state equals the model: users",
        [f"stored {sorted(stored.users)}, the model has {sorted(model.users)}"]
        if stored.users.keys() != model.users.keys()
        else [
            f"user {email} is {stored.users[email]}, the model knows it as {user_id}"
            for email, user_id in model.users.items()
            if user_id is not None and stored.users[email] != user_id
        ],
    )
    check(
        "state equals the model: wallet balances",
        [
            f"{owner}'s wallet holds {balances.get(owner)}, "
            f"the model says {model.balances.get(owner)}"
            for owner in balances.keys() | model.balances.keys()
            if balances.get(owner) != model.balances.get(owner)
        ]
        + [
            f"wallet {w} belongs to {stored.wallets[w][0] if w in stored.wallets else 'nobody'}, "
            f"the model says {owner}"
            for w, owner in model.wallet_ids.items()
            if w not in stored.wallets or stored.wallets[w][0] != owner
        ],
    )
    modelled_tasks = {
        task_id: StoredTask(task.creator, task.status, task.assignee, task.bounty)
        for task_id, task in model.tasks.items()
    }
    check(
        "state equals the model: tasks",
        [
            f"task {t} is {stored.tasks.get(t)}, the model says {modelled_tasks.get(t)}"
            for t in stored.tasks.keys() | modelled_tasks.keys()
            if stored.tasks.get(t) != modelled_tasks.get(t)
        ],
    )
    check(
        "each task's escrow holds its bounty while the task is open, nothing once closed",
        [
            f"escrow of task {t} holds {by_account[escrow_account(t)]}, "
            f"the model says {task.escrow}"
            for t, task in model.tasks.items()
            if by_account[escrow_account(t)] != task.escrow
        ],
    )
    check(
        "state equals the model: credits minted",
        [f"the mint issued {minted}, the model says {model.minted}"]
        if minted != model.minted
        else [],
    )
    check(
        "state equals the model: ledger entries",
        [f"{len(stored.entries)} entries stored, the model says {model.entries}"]
        if len(stored.entries) != model.entries
        else [],
    )
    check(
        "state equals the model: idempotency keys",
        [f"stored {sorted(stored.idempotency_keys)}, the model says {sorted(model.keys)}"]
        if stored.idempotency_keys != model.keys.keys()
        else [],
    )
    return broken
