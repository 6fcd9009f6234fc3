"""The task aggregate: creation, every transition, dependencies, bounties and events."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from domain.credits import Credits
from domain.errors import (
    DependencyCycle,
    DependencyNotDone,
    IllegalTransition,
    InactiveUser,
    InsufficientFunds,
    InvalidValue,
    NotFound,
)
from domain.events import BountyPaid, TaskCreated, TaskStatusChanged
from domain.ledger import EntryKind, LedgerEntry, escrow_account
from domain.tasks import MAX_DESCRIPTION_LENGTH, MAX_TITLE_LENGTH, Task, TaskStatus
from domain.users import User
from domain.wallets import Wallet
from tests.builders import new_user

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def funded_wallet(owner: User, balance: str = "0") -> Wallet:
    wallet = Wallet.open_for(owner)
    if Decimal(balance) > 0:
        wallet.deposit(Credits.positive(balance))
    wallet.pull_events()
    return wallet


def free_task(creator: User | None = None, **fields: Any) -> Task:
    """A task without a bounty, its creation event already handed over."""
    task, entry = Task.create(creator=creator or new_user(), title="write the docs", **fields)
    assert entry is None
    task.pull_events()
    return task


def done_task() -> Task:
    task = free_task()
    task.assign(new_user())
    task.start()
    task.complete([])
    return task


def postings_of(entry: LedgerEntry) -> set[tuple[str, Decimal]]:
    return {(posting.account, posting.delta) for posting in entry.postings}


def persistent_state(task: Task) -> dict[str, object]:
    return {name: value for name, value in vars(task).items() if name != "_pending_events"}


# --- creation ---------------------------------------------------------------------------------


def test_a_new_task_is_todo_unassigned_and_records_its_creation() -> None:
    creator = new_user()
    task, entry = Task.create(creator=creator, title="  write the docs  ", description="all")
    assert entry is None
    assert (task.title, task.description, task.status) == ("write the docs", "all", TaskStatus.TODO)
    assert (task.creator_id, task.assignee_id, task.parent_id) == (creator.id, None, None)
    assert (task.dependency_ids, task.bounty, task.deleted_at) == (
        frozenset(),
        Credits.zero(),
        None,
    )
    assert task.version == 1
    assert task.created_at == task.updated_at
    [event] = task.pull_events()
    assert isinstance(event, TaskCreated)
    assert (event.task_id, event.creator_id, event.bounty) == (task.id, creator.id, Credits.zero())


def test_a_task_keeps_its_parent_and_dependencies() -> None:
    creator = new_user()
    parent, first, second = free_task(creator), free_task(creator), free_task(creator)
    task, _ = Task.create(
        creator=creator, title="child", parent=parent, dependencies=[first, second]
    )
    assert task.parent_id == parent.id
    assert task.dependency_ids == {first.id, second.id}


def test_a_task_takes_the_id_it_is_given() -> None:
    chosen = free_task().id
    task, _ = Task.create(creator=new_user(), title="chosen", task_id=chosen)
    assert task.id == chosen


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("", "needs a title"),
        ("   \n ", "needs a title"),
        ("x" * (MAX_TITLE_LENGTH + 1), "at most 200"),
        ("nul\x00inside", "control characters"),
        ("tab\tinside", "control characters"),
        ("line\nbreak", "control characters"),
        ("escape \x1b[31m red", "control characters"),
        ("delete\x7f", "control characters"),
        ("next line\x85inside", "control characters"),
        ("csi \x9b31m red", "control characters"),
    ],
)
def test_a_title_that_is_empty_too_long_or_has_control_characters_is_refused(
    title: str, message: str
) -> None:
    with pytest.raises(InvalidValue, match=message):
        Task.create(creator=new_user(), title=title)


@pytest.mark.parametrize("title", ["x" * MAX_TITLE_LENGTH, "Café ☕ für alle", "a"])
def test_a_title_of_printable_text_up_to_the_limit_is_kept(title: str) -> None:
    task, _ = Task.create(creator=new_user(), title=title)
    assert task.title == title


@pytest.mark.parametrize(
    "description", ["", "two\nlines\tand a tab", "x" * MAX_DESCRIPTION_LENGTH, "  spaced  "]
)
def test_a_description_may_hold_tabs_and_newlines_up_to_the_limit(description: str) -> None:
    task, _ = Task.create(creator=new_user(), title="t", description=description)
    assert task.description == description


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ("x" * (MAX_DESCRIPTION_LENGTH + 1), "at most 10000"),
        ("nul\x00inside", "control characters"),
        ("escape \x1b[31m red", "control characters"),
        ("bell\x07", "control characters"),
        ("delete\x7f", "control characters"),
    ],
)
def test_a_description_too_long_or_with_other_control_characters_is_refused(
    description: str, message: str
) -> None:
    with pytest.raises(InvalidValue, match=message):
        Task.create(creator=new_user(), title="t", description=description)


def test_a_description_may_use_windows_line_endings() -> None:
    task, _ = Task.create(creator=new_user(), title="t", description="first\r\nsecond")
    assert task.description == "first\r\nsecond"


def test_a_deactivated_user_cannot_create_a_task() -> None:
    creator = new_user()
    creator.deactivate()
    with pytest.raises(InactiveUser):
        Task.create(creator=creator, title="t")


@pytest.mark.parametrize("relation", ["parent", "dependency"])
def test_a_deleted_task_cannot_be_the_parent_or_a_dependency_of_a_new_one(relation: str) -> None:
    creator = new_user()
    deleted = free_task(creator)
    deleted.delete()
    related: dict[str, Any] = (
        {"parent": deleted} if relation == "parent" else {"dependencies": [deleted]}
    )
    with pytest.raises(IllegalTransition, match="deleted"):
        Task.create(creator=creator, title="t", **related)


@pytest.mark.parametrize("relation", ["parent", "dependency"])
def test_a_new_task_cannot_be_its_own_parent_or_dependency(relation: str) -> None:
    creator = new_user()
    other = free_task(creator)
    related: dict[str, Any] = (
        {"parent": other} if relation == "parent" else {"dependencies": [other]}
    )
    with pytest.raises(DependencyCycle):
        Task.create(creator=creator, title="t", task_id=other.id, **related)


# --- bounty escrow ----------------------------------------------------------------------------


def test_a_bounty_moves_from_the_creators_wallet_into_the_tasks_escrow() -> None:
    creator = new_user()
    wallet = funded_wallet(creator, "50")
    task, entry = Task.create(
        creator=creator, title="t", bounty=Credits.positive("12.5"), funding_wallet=wallet
    )
    assert entry is not None
    assert entry.kind is EntryKind.ESCROW
    assert postings_of(entry) == {
        (wallet.account, Decimal("-12.50")),
        (f"escrow:{task.id}", Decimal("12.50")),
    }
    assert sum(posting.delta for posting in entry.postings) == 0
    assert wallet.balance.value == Decimal("37.50")
    assert task.bounty.value == Decimal("12.50")
    [event] = task.pull_events()
    assert isinstance(event, TaskCreated)
    assert event.bounty == Credits.positive("12.50")


def test_the_whole_balance_can_be_put_up_as_a_bounty() -> None:
    creator = new_user()
    wallet = funded_wallet(creator, "10")
    Task.create(creator=creator, title="t", bounty=Credits.positive("10"), funding_wallet=wallet)
    assert wallet.balance == Credits.zero()


def test_a_bounty_beyond_the_creators_balance_is_refused_and_the_wallet_keeps_its_credits() -> None:
    creator = new_user()
    wallet = funded_wallet(creator, "10")
    with pytest.raises(InsufficientFunds):
        Task.create(
            creator=creator, title="t", bounty=Credits.positive("10.01"), funding_wallet=wallet
        )
    assert wallet.balance.value == Decimal("10.00")


def test_a_bounty_without_the_creators_wallet_is_not_found() -> None:
    with pytest.raises(NotFound, match="wallet of user"):
        Task.create(creator=new_user(), title="t", bounty=Credits.positive("1"))


def test_a_bounty_cannot_be_funded_from_someone_elses_wallet() -> None:
    stranger_wallet = funded_wallet(new_user(), "10")
    with pytest.raises(ValueError, match="does not belong"):
        Task.create(
            creator=new_user(),
            title="t",
            bounty=Credits.positive("1"),
            funding_wallet=stranger_wallet,
        )
    assert stranger_wallet.balance.value == Decimal("10.00")


# --- every transition -------------------------------------------------------------------------


@dataclass
class Board:
    """A task in a chosen state, with the people and the other task that actions need."""

    task: Task
    assignee: User = field(default_factory=new_user)
    other: Task = field(default_factory=free_task)


STATES = ["todo", "todo_assigned", "in_progress", "done", "cancelled"]


def board_in(state: str, *, deleted: bool) -> Board:
    board = Board(task=free_task())
    task = board.task
    if state != "todo" and state != "cancelled":
        task.assign(board.assignee)
    if state in ("in_progress", "done"):
        task.start()
    if state == "done":
        task.complete([])
    if state == "cancelled":
        task.cancel()
    if deleted:
        task.delete()
    task.pull_events()
    task.updated_at = LONG_AGO
    return board


ACTIONS: dict[str, Callable[[Board], object]] = {
    "assign": lambda board: board.task.assign(board.assignee),
    "start": lambda board: board.task.start(),
    "complete": lambda board: board.task.complete([]),
    "cancel": lambda board: board.task.cancel(),
    "delete": lambda board: board.task.delete(),
    "restore": lambda board: board.task.restore(),
    "depend_on": lambda board: board.task.depend_on(board.other, set()),
}
LEGAL: dict[tuple[str, bool], set[str]] = {
    ("todo", False): {"assign", "cancel", "delete", "depend_on"},
    ("todo_assigned", False): {"assign", "start", "cancel", "delete", "depend_on"},
    ("in_progress", False): {"assign", "complete", "cancel", "delete", "depend_on"},
    ("done", False): {"delete"},
    ("cancelled", False): {"delete"},
    **{(state, True): {"restore"} for state in STATES},
}
STATUS_AFTER = {
    "start": TaskStatus.IN_PROGRESS,
    "complete": TaskStatus.DONE,
    "cancel": TaskStatus.CANCELLED,
}
ALL_MOVES = [
    (state, deleted, action)
    for state, deleted, action in itertools.product(STATES, (False, True), ACTIONS)
]


LEGAL_MOVES = [move for move in ALL_MOVES if move[2] in LEGAL[move[0], move[1]]]
ILLEGAL_MOVES = [move for move in ALL_MOVES if move[2] not in LEGAL[move[0], move[1]]]


def move_id(state: str, deleted: bool, action: str) -> str:
    return f"{state}{'+deleted' if deleted else ''}->{action}"


@pytest.mark.parametrize(
    ("state", "deleted", "action"), LEGAL_MOVES, ids=[move_id(*move) for move in LEGAL_MOVES]
)
def test_every_legal_move_changes_the_task_as_it_says(
    state: str, deleted: bool, action: str
) -> None:
    board = board_in(state, deleted=deleted)
    status_before = board.task.status

    ACTIONS[action](board)

    task = board.task
    assert task.status is STATUS_AFTER.get(action, status_before)
    assert task.is_deleted is {"delete": True, "restore": False}.get(action, deleted)
    if action == "assign":
        assert task.assignee_id == board.assignee.id
    if action == "depend_on":
        assert board.other.id in task.dependency_ids
    assert task.updated_at > LONG_AGO
    status_events = [e for e in task.pull_events() if isinstance(e, TaskStatusChanged)]
    if action in STATUS_AFTER:
        assert [(e.task_id, e.status) for e in status_events] == [(task.id, task.status.value)]
    else:
        assert status_events == []


@pytest.mark.parametrize(
    ("state", "deleted", "action"), ILLEGAL_MOVES, ids=[move_id(*move) for move in ILLEGAL_MOVES]
)
def test_every_illegal_move_is_refused_and_changes_nothing(
    state: str, deleted: bool, action: str
) -> None:
    board = board_in(state, deleted=deleted)
    before = persistent_state(board.task)

    with pytest.raises(IllegalTransition):
        ACTIONS[action](board)

    assert persistent_state(board.task) == before
    assert board.task.pull_events() == []


def test_the_illegal_moves_include_the_ones_that_matter_most() -> None:
    illegal = {move_id(*move) for move in ILLEGAL_MOVES}
    assert {
        "todo->complete",
        "todo->start",
        "in_progress->start",
        "done->assign",
        "done->start",
        "done->complete",
        "done->cancel",
        "cancelled->start",
        "cancelled->complete",
        "cancelled->cancel",
        "todo_assigned+deleted->start",
        "in_progress+deleted->complete",
        "todo+deleted->delete",
        "todo->restore",
    } <= illegal


def test_a_deactivated_user_cannot_be_assigned() -> None:
    task = free_task()
    assignee = new_user()
    assignee.deactivate()
    with pytest.raises(InactiveUser):
        task.assign(assignee)
    assert task.assignee_id is None


def test_a_started_task_can_be_given_to_someone_else() -> None:
    board = board_in("in_progress", deleted=False)
    successor = new_user()
    board.task.assign(successor)
    assert (board.task.assignee_id, board.task.status) == (successor.id, TaskStatus.IN_PROGRESS)


def test_a_restored_task_is_back_in_the_state_it_was_deleted_in() -> None:
    board = board_in("in_progress", deleted=True)
    board.task.restore()
    assert (board.task.status, board.task.deleted_at) == (TaskStatus.IN_PROGRESS, None)
    board.task.complete([])
    assert board.task.status is TaskStatus.DONE


# --- dependencies -----------------------------------------------------------------------------


def started_task_waiting_for(*dependencies: Task) -> Task:
    task = free_task(dependencies=dependencies)
    task.assign(new_user())
    task.start()
    task.pull_events()
    return task


@pytest.mark.parametrize(
    "make_blocker",
    [
        free_task,
        lambda: board_in("in_progress", deleted=False).task,
        lambda: board_in("cancelled", deleted=False).task,
    ],
    ids=["todo", "in_progress", "cancelled"],
)
def test_a_task_cannot_be_done_while_a_dependency_is_not_done(
    make_blocker: Callable[[], Task],
) -> None:
    finished, blocker = done_task(), make_blocker()
    task = started_task_waiting_for(finished, blocker)

    with pytest.raises(DependencyNotDone, match=str(blocker.id)) as refused:
        task.complete([finished, blocker])

    assert str(finished.id) not in str(refused.value)
    assert task.status is TaskStatus.IN_PROGRESS
    assert task.pull_events() == []


def test_a_task_can_be_done_once_every_dependency_is_done() -> None:
    first, second = done_task(), done_task()
    task = started_task_waiting_for(first, second)
    task.complete([second, first])
    assert task.status is TaskStatus.DONE


def test_completion_needs_exactly_the_tasks_dependencies() -> None:
    first, second = done_task(), done_task()
    task = started_task_waiting_for(first, second)
    with pytest.raises(ValueError, match="every dependency"):
        task.complete([first])
    with pytest.raises(ValueError, match="every dependency"):
        task.complete([first, second, done_task()])
    assert task.status is TaskStatus.IN_PROGRESS


def test_depending_on_another_task_adds_it() -> None:
    task, other = free_task(), free_task()
    task.depend_on(other, reachable_from_other=set())
    assert task.dependency_ids == {other.id}


@pytest.mark.parametrize(
    "reachable", [lambda task: {task.id}, lambda task: {free_task().id, task.id}]
)
def test_a_dependency_that_leads_back_to_the_task_is_a_cycle(
    reachable: Callable[[Task], set[Any]],
) -> None:
    task, other = free_task(), free_task()
    with pytest.raises(DependencyCycle):
        task.depend_on(other, reachable_from_other=reachable(task))
    assert task.dependency_ids == frozenset()


def test_a_task_cannot_depend_on_itself() -> None:
    task = free_task()
    with pytest.raises(DependencyCycle):
        task.depend_on(task, reachable_from_other=set())
    assert task.dependency_ids == frozenset()


def test_a_task_cannot_depend_on_a_deleted_task() -> None:
    task, other = free_task(), free_task()
    other.delete()
    with pytest.raises(IllegalTransition, match="deleted"):
        task.depend_on(other, reachable_from_other=set())
    assert task.dependency_ids == frozenset()


# --- bounty payout and refund -----------------------------------------------------------------


@dataclass
class Funded:
    task: Task
    creator_wallet: Wallet
    assignee_wallet: Wallet
    escrow: LedgerEntry


def funded_task(bounty: str = "30", *, state: str = "in_progress") -> Funded:
    creator, assignee = new_user(), new_user()
    creator_wallet, assignee_wallet = funded_wallet(creator, "100"), funded_wallet(assignee)
    task, escrow = Task.create(
        creator=creator, title="t", bounty=Credits.positive(bounty), funding_wallet=creator_wallet
    )
    assert escrow is not None
    if state != "todo":
        task.assign(assignee)
    if state == "in_progress":
        task.start()
    task.pull_events()
    return Funded(task, creator_wallet, assignee_wallet, escrow)


def test_completion_pays_the_bounty_from_escrow_to_the_assignees_wallet() -> None:
    funded = funded_task("30")
    entry = funded.task.complete([], funded.assignee_wallet)

    assert entry is not None
    assert entry.kind is EntryKind.PAYOUT
    assert postings_of(entry) == {
        (escrow_account(funded.task.id), Decimal("-30.00")),
        (funded.assignee_wallet.account, Decimal("30.00")),
    }
    assert funded.assignee_wallet.balance.value == Decimal("30.00")
    assert funded.creator_wallet.balance.value == Decimal("70.00")
    escrow_total = sum(
        posting.delta
        for posting in (*funded.escrow.postings, *entry.postings)
        if posting.account == f"escrow:{funded.task.id}"
    )
    assert escrow_total == 0
    events = funded.task.pull_events()
    [paid] = [event for event in events if isinstance(event, BountyPaid)]
    assert (paid.task_id, paid.wallet_id, paid.amount, paid.entry_id) == (
        funded.task.id,
        funded.assignee_wallet.id,
        Credits.positive("30"),
        entry.id,
    )
    [changed] = [event for event in events if isinstance(event, TaskStatusChanged)]
    assert changed.status == "done"


@pytest.mark.parametrize("state", ["todo", "todo_assigned", "in_progress"])
def test_cancellation_refunds_the_bounty_from_escrow_to_the_creators_wallet(state: str) -> None:
    funded = funded_task("30", state=state)
    entry = funded.task.cancel(funded.creator_wallet)

    assert entry is not None
    assert entry.kind is EntryKind.REFUND
    assert postings_of(entry) == {
        (escrow_account(funded.task.id), Decimal("-30.00")),
        (funded.creator_wallet.account, Decimal("30.00")),
    }
    assert sum(posting.delta for posting in entry.postings) == 0
    assert funded.creator_wallet.balance.value == Decimal("100.00")
    assert funded.assignee_wallet.balance == Credits.zero()
    events = funded.task.pull_events()
    assert {type(event) for event in events} == {BountyPaid, TaskStatusChanged}
    [paid] = [event for event in events if isinstance(event, BountyPaid)]
    assert (paid.wallet_id, paid.entry_id) == (funded.creator_wallet.id, entry.id)


@pytest.mark.parametrize("action", ["complete", "cancel"])
def test_a_bounty_cannot_be_released_without_the_payees_wallet(action: str) -> None:
    funded = funded_task()
    with pytest.raises(NotFound, match="wallet of user"):
        if action == "complete":
            funded.task.complete([])
        else:
            funded.task.cancel()
    assert funded.task.status is TaskStatus.IN_PROGRESS
    assert funded.task.pull_events() == []


@pytest.mark.parametrize("action", ["complete", "cancel"])
def test_a_bounty_cannot_be_released_into_the_wrong_wallet(action: str) -> None:
    funded = funded_task()
    with pytest.raises(ValueError, match="does not belong"):
        if action == "complete":
            funded.task.complete([], funded.creator_wallet)
        else:
            funded.task.cancel(funded.assignee_wallet)
    assert funded.task.status is TaskStatus.IN_PROGRESS
    assert funded.creator_wallet.balance.value == Decimal("70.00")
    assert funded.assignee_wallet.balance == Credits.zero()


@pytest.mark.parametrize("action", ["complete", "cancel"])
def test_a_free_task_moves_no_credits(action: str) -> None:
    task = board_in("in_progress", deleted=False).task
    entry = task.complete([]) if action == "complete" else task.cancel()
    assert entry is None
    assert [type(event) for event in task.pull_events()] == [TaskStatusChanged]


def test_a_finished_task_cannot_release_its_bounty_twice() -> None:
    funded = funded_task()
    funded.task.complete([], funded.assignee_wallet)
    with pytest.raises(IllegalTransition):
        funded.task.cancel(funded.creator_wallet)
    with pytest.raises(IllegalTransition):
        funded.task.complete([], funded.assignee_wallet)
    assert (funded.creator_wallet.balance.value, funded.assignee_wallet.balance.value) == (
        Decimal("70.00"),
        Decimal("30.00"),
    )


# --- events -----------------------------------------------------------------------------------


def test_a_tasks_life_is_told_by_its_events_each_handed_out_once() -> None:
    creator, assignee = new_user(), new_user()
    creator_wallet, assignee_wallet = funded_wallet(creator, "5"), funded_wallet(assignee)
    task, _ = Task.create(
        creator=creator, title="t", bounty=Credits.positive("5"), funding_wallet=creator_wallet
    )
    task.assign(assignee)
    task.start()
    task.complete([], assignee_wallet)

    events = task.pull_events()
    assert task.pull_events() == []
    created, started = events[0], events[1]
    assert isinstance(created, TaskCreated)
    assert isinstance(started, TaskStatusChanged)
    assert started.status == "in_progress"
    assert sorted(type(event).__name__ for event in events[2:]) == [
        "BountyPaid",
        "TaskStatusChanged",
    ]
    assert all(getattr(event, "task_id", None) == task.id for event in events)
