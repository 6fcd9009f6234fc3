"""Every task use case, run against the in-memory fakes."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pydantic
import pytest

from application.errors import BatchItemRefused
from application.ports.task_queries import TaskSort
from application.ports.unit_of_work import UnitOfWorkFactory
from application.use_cases import (
    DepositCredits,
    DepositCreditsCommand,
    OpenWallet,
    OpenWalletCommand,
    RegisterUser,
    RegisterUserCommand,
)
from application.use_cases.get_wallet_statement import MAX_PAGE_SIZE
from application.use_cases.tasks.changing import (
    MAX_BULK_TASKS,
    AddDependency,
    AddDependencyCommand,
    AssignTask,
    AssignTaskCommand,
    CancelTask,
    ChangeTaskStatuses,
    ChangeTaskStatusesCommand,
    CompleteTask,
    DeleteTask,
    RestoreTask,
    StartTask,
    TaskCommand,
)
from application.use_cases.tasks.creating import (
    BATCH_CHUNK_SIZE,
    MAX_DEPENDENCIES,
    CreateTask,
    CreateTaskCommand,
    CreateTasks,
    CreateTasksCommand,
)
from application.use_cases.tasks.reading import (
    ExportTasks,
    GetTask,
    GetTaskQuery,
    ListTasks,
    ListTasksQuery,
)
from application.views import TaskView
from domain.credits import Credits
from domain.errors import (
    Conflict,
    DependencyCycle,
    DependencyNotDone,
    IllegalTransition,
    InactiveUser,
    InsufficientFunds,
    NotFound,
    NotPermitted,
)
from domain.ledger import MINT_ACCOUNT, EntryKind, escrow_account
from domain.tasks import TaskStatus
from domain.wallets import Wallet
from infrastructure.in_memory import InMemoryStore
from tests.builders import new_user

# --- the books ----------------------------------------------------------------------------------


def minted(store: InMemoryStore) -> Decimal:
    return -sum(
        (p.delta for e in store.entries for p in e.postings if p.account == MINT_ACCOUNT),
        Decimal(0),
    )


def held_in_escrow(store: InMemoryStore) -> Decimal:
    """What open tasks hold, deleted ones included: deletion leaves a bounty in escrow."""
    return sum((t.bounty.value for t in store.tasks.values() if t.status.is_open), Decimal(0))


def account_total(store: InMemoryStore, account: str) -> Decimal:
    return sum(
        (p.delta for e in store.entries for p in e.postings if p.account == account), Decimal(0)
    )


def assert_books_balance(store: InMemoryStore) -> None:
    balances = sum((wallet.balance.value for wallet in store.wallets.values()), Decimal(0))
    assert balances + held_in_escrow(store) == minted(store)
    for entry in store.entries:
        assert sum(posting.delta for posting in entry.postings) == 0
    for task in store.tasks.values():
        expected = task.bounty.value if task.status.is_open else Decimal(0)
        assert account_total(store, escrow_account(task.id)) == expected, task
    for wallet in store.wallets.values():
        assert account_total(store, wallet.account) == wallet.balance.value


@pytest.fixture(autouse=True)
def books_balance_after_every_test(store: InMemoryStore) -> Iterator[None]:
    """Whatever a test did, no credit was created or lost on the way."""
    yield
    assert_books_balance(store)


async def test_wallets_and_escrow_hold_every_minted_credit_through_a_tasks_life(
    fake_uow_factory: UnitOfWorkFactory, store: InMemoryStore
) -> None:
    board = await Board.open(fake_uow_factory, store)
    kept = await board.create(bounty="10")
    paid = await board.create(bounty="20")
    refunded = await board.create(bounty="5")
    deleted = await board.create(bounty="7")
    await board.assign_and_start(paid.id)
    await CompleteTask(fake_uow_factory)(TaskCommand(task_id=paid.id))
    await CancelTask(fake_uow_factory)(TaskCommand(task_id=refunded.id))
    await DeleteTask(fake_uow_factory)(TaskCommand(task_id=deleted.id))

    assert minted(store) == Decimal(100)
    assert held_in_escrow(store) == Decimal(17)
    assert store.tasks[kept.id].bounty.value == Decimal(10)
    assert board.balance_of(board.ada) == Decimal(100 - 10 - 20 - 5 - 7 + 5)
    assert board.balance_of(board.bob) == Decimal(20)
    assert_books_balance(store)


def test_the_books_check_notices_a_credit_created_from_nothing(store: InMemoryStore) -> None:
    """The check every test ends with can fail: a wallet credited outside the ledger."""
    user = new_user()
    wallet = Wallet.open_for(user)
    store.users[user.id] = user
    store.wallets[wallet.id] = wallet
    wallet.balance = Credits.positive("1")
    with pytest.raises(AssertionError):
        assert_books_balance(store)
    wallet.balance = Credits.zero()


# --- a board of users, wallets and tasks --------------------------------------------------------


class Board:
    """Two people with wallets (ada holds 100 credits, bob none) and shortcuts to the use cases."""

    def __init__(self, uow_factory: UnitOfWorkFactory, store: InMemoryStore) -> None:
        self.uow_factory = uow_factory
        self.store = store
        self.ada = self.bob = uuid4()

    @classmethod
    async def open(cls, uow_factory: UnitOfWorkFactory, store: InMemoryStore) -> Board:
        board = cls(uow_factory, store)
        board.ada = await board.person("ada", "100")
        board.bob = await board.person("bob")
        return board

    async def person(self, name: str, credits: str | None = None, *, wallet: bool = True) -> UUID:
        command = RegisterUserCommand.model_validate(
            {"email": f"{name}@example.com", "username": name}
        )
        user = await RegisterUser(self.uow_factory)(command)
        if wallet:
            opened = await OpenWallet(self.uow_factory)(OpenWalletCommand(owner_id=user.id))
            if credits is not None:
                deposit = DepositCreditsCommand.model_validate(
                    {"wallet_id": opened.id, "amount": credits}
                )
                await DepositCredits(self.uow_factory)(deposit)
        return user.id

    def command(self, title: str = "task", **fields: Any) -> CreateTaskCommand:
        return CreateTaskCommand.model_validate({"creator_id": self.ada, "title": title, **fields})

    async def create(self, title: str = "task", **fields: Any) -> TaskView:
        return await CreateTask(self.uow_factory)(self.command(title, **fields))

    async def assign_and_start(self, task_id: UUID, assignee: UUID | None = None) -> TaskView:
        await AssignTask(self.uow_factory)(
            AssignTaskCommand(task_id=task_id, assignee_id=assignee or self.bob)
        )
        return await StartTask(self.uow_factory)(TaskCommand(task_id=task_id))

    async def complete(self, task_id: UUID) -> TaskView:
        return await CompleteTask(self.uow_factory)(TaskCommand(task_id=task_id))

    def balance_of(self, owner_id: UUID) -> Decimal:
        [wallet] = [w for w in self.store.wallets.values() if w.owner_id == owner_id]
        return wallet.balance.value

    def status_of(self, task_id: UUID) -> TaskStatus:
        return self.store.tasks[task_id].status

    def snapshot(self) -> tuple[object, ...]:
        """Everything committed, to show that a refused change wrote nothing."""
        return (
            {
                i: (t.status, t.assignee_id, t.dependency_ids, t.deleted_at, t.version)
                for i, t in self.store.tasks.items()
            },
            {i: (w.balance, w.version) for i, w in self.store.wallets.items()},
            [entry.id for entry in self.store.entries],
        )


@pytest.fixture
async def board(fake_uow_factory: UnitOfWorkFactory, store: InMemoryStore) -> Board:
    return await Board.open(fake_uow_factory, store)


# --- CreateTask ---------------------------------------------------------------------------------


async def test_create_task_stores_a_todo_task_of_the_creator(board: Board) -> None:
    view = await board.create("write the docs", description="all of them")
    assert (view.title, view.description, view.status) == (
        "write the docs",
        "all of them",
        TaskStatus.TODO,
    )
    assert (view.creator_id, view.assignee_id, view.parent_id, view.dependency_ids) == (
        board.ada,
        None,
        None,
        [],
    )
    assert (view.bounty, view.version, view.deleted_at) == (Decimal("0.00"), 1, None)
    assert TaskView.of(board.store.tasks[view.id]) == view


async def test_create_task_links_a_parent_and_dependencies(board: Board) -> None:
    parent, first, second = (
        await board.create("p"),
        await board.create("a"),
        await board.create("b"),
    )
    view = await board.create(parent_id=parent.id, dependency_ids=[second.id, first.id])
    assert view.parent_id == parent.id
    assert view.dependency_ids == sorted([first.id, second.id])
    assert board.store.tasks[view.id].dependency_ids == {first.id, second.id}


async def test_create_task_takes_the_id_the_caller_chose(board: Board) -> None:
    chosen = uuid4()
    view = await board.create(task_id=chosen)
    assert view.id == chosen
    assert chosen in board.store.tasks


async def test_create_task_escrows_the_bounty_from_the_creators_wallet(board: Board) -> None:
    view = await board.create(bounty="12.34")
    assert view.bounty == Decimal("12.34")
    assert board.balance_of(board.ada) == Decimal("87.66")
    [ada_wallet] = [w for w in board.store.wallets.values() if w.owner_id == board.ada]
    escrow = board.store.entries[-1]
    assert escrow.kind is EntryKind.ESCROW
    assert {(p.account, p.delta) for p in escrow.postings} == {
        (f"escrow:{view.id}", Decimal("12.34")),
        (ada_wallet.account, Decimal("-12.34")),
    }


@pytest.mark.parametrize("unknown", ["creator_id", "parent_id", "dependency_ids"])
async def test_create_task_with_an_unknown_reference_is_not_found_and_writes_nothing(
    board: Board, unknown: str
) -> None:
    known = await board.create("known")
    fields: dict[str, Any] = {"bounty": "5", "parent_id": known.id, "dependency_ids": [known.id]}
    fields[unknown] = [uuid4()] if unknown == "dependency_ids" else uuid4()
    before = board.snapshot()

    with pytest.raises(NotFound, match="user" if unknown == "creator_id" else "task"):
        await CreateTask(board.uow_factory)(board.command(**fields))

    assert board.snapshot() == before


async def test_create_task_with_a_bounty_beyond_the_balance_writes_nothing(board: Board) -> None:
    before = board.snapshot()
    with pytest.raises(InsufficientFunds):
        await board.create(bounty="100.01")
    assert board.snapshot() == before
    assert board.balance_of(board.ada) == Decimal(100)


async def test_create_task_with_a_bounty_needs_a_wallet_of_the_creator(board: Board) -> None:
    walletless = await board.person("cyd", wallet=False)
    with pytest.raises(NotFound, match="wallet of user"):
        await board.create(creator_id=walletless, bounty="1")
    free = await board.create(creator_id=walletless)
    assert free.bounty == Decimal(0)


async def test_create_task_refuses_a_deleted_parent(board: Board) -> None:
    parent = await board.create("p")
    await DeleteTask(board.uow_factory)(TaskCommand(task_id=parent.id))
    with pytest.raises(IllegalTransition, match="deleted"):
        await board.create(parent_id=parent.id)


async def test_create_task_refuses_a_deactivated_creator(board: Board) -> None:
    board.store.users[board.ada].deactivate()
    with pytest.raises(InactiveUser):
        await board.create()


async def test_create_task_with_a_taken_id_is_a_conflict(board: Board) -> None:
    taken = await board.create("first")
    with pytest.raises(Conflict):
        await board.create("second", task_id=taken.id, bounty="1")
    assert board.store.tasks[taken.id].title == "first"
    assert board.balance_of(board.ada) == Decimal(100)


@pytest.mark.parametrize(
    "fields",
    [
        {"title": ""},
        {"title": "x" * 201},
        {"title": "a\x00b"},
        {"description": "a\x1bb"},
        {"bounty": "0"},
        {"bounty": "-1"},
        {"bounty": "0.001"},
        {"bounty": 1.5},
        {"dependency_ids": [str(uuid4()) for _ in range(MAX_DEPENDENCIES + 1)]},
        {"owner": "someone"},
    ],
    ids=lambda fields: next(iter(fields)),
)
def test_create_task_command_refuses_bad_input(fields: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        CreateTaskCommand.model_validate({"creator_id": uuid4(), "title": "t", **fields})


# --- CreateTasks --------------------------------------------------------------------------------


async def test_create_tasks_creates_every_item_and_later_items_may_refer_to_earlier_ones(
    board: Board,
) -> None:
    epic, design, build = uuid4(), uuid4(), uuid4()
    command = CreateTasksCommand(
        tasks=[
            board.command("epic", task_id=epic, bounty="10"),
            board.command("design", task_id=design, parent_id=epic),
            board.command("build", task_id=build, parent_id=epic, dependency_ids=[design]),
            board.command("unnamed", bounty="5"),
        ]
    )
    created = await CreateTasks(board.uow_factory)(command)

    assert created.count == 4
    assert created.task_ids[:3] == [epic, design, build]
    stored = board.store.tasks
    assert set(created.task_ids) == set(stored)
    assert (stored[design].parent_id, stored[build].parent_id) == (epic, epic)
    assert stored[build].dependency_ids == {design}
    assert board.balance_of(board.ada) == Decimal(85)


FIRST, LATER, DELETED = uuid4(), uuid4(), uuid4()
"""Ids of the refusal batch: its first item, its last item, and a committed deleted task."""


def refusals(board: Board) -> dict[str, Callable[[UUID], CreateTaskCommand]]:
    """Items refused for each reason; `taken` is the id of a committed task."""
    return {
        "unknown creator": lambda taken: board.command(creator_id=uuid4()),
        "unknown parent": lambda taken: board.command(parent_id=uuid4()),
        "unknown dependency": lambda taken: board.command(dependency_ids=[uuid4()]),
        "refers to a later item": lambda taken: board.command(dependency_ids=[LATER]),
        "bounty beyond what is left": lambda taken: board.command(bounty="60"),
        "deleted parent": lambda taken: board.command(parent_id=DELETED),
        "duplicate id in the batch": lambda taken: board.command(task_id=FIRST),
        "id of a committed task": lambda taken: board.command(task_id=taken),
    }


CAUSES: dict[str, type[Exception]] = {
    "unknown creator": NotFound,
    "unknown parent": NotFound,
    "unknown dependency": NotFound,
    "refers to a later item": NotFound,
    "bounty beyond what is left": InsufficientFunds,
    "deleted parent": IllegalTransition,
    "duplicate id in the batch": Conflict,
    "id of a committed task": Conflict,
}


@pytest.mark.parametrize("reason", list(CAUSES))
async def test_create_tasks_refuses_the_whole_batch_naming_the_bad_item(
    board: Board, reason: str
) -> None:
    taken = await board.create("committed")
    await board.create("deleted", task_id=DELETED)
    await DeleteTask(board.uow_factory)(TaskCommand(task_id=DELETED))
    before = board.snapshot()
    command = CreateTasksCommand(
        tasks=[
            board.command("first", task_id=FIRST, bounty="50"),
            board.command("second", parent_id=FIRST),
            refusals(board)[reason](taken.id),
            board.command("later", task_id=LATER),
        ]
    )

    with pytest.raises(BatchItemRefused) as refused:
        await CreateTasks(board.uow_factory)(command)

    assert refused.value.index == 2
    assert isinstance(refused.value.cause, CAUSES[reason])
    assert str(refused.value).startswith("item 3: ")
    assert board.snapshot() == before


async def test_create_tasks_reports_progress_after_each_chunk_up_to_the_total(
    board: Board,
) -> None:
    total = 2 * BATCH_CHUNK_SIZE + 7
    heard: list[int] = []
    command = CreateTasksCommand(tasks=[board.command(f"t{i}") for i in range(total)])

    created = await CreateTasks(board.uow_factory)(command, progress=heard.append)

    assert heard == [BATCH_CHUNK_SIZE, 2 * BATCH_CHUNK_SIZE, total]
    assert created.count == len(board.store.tasks) == total


async def test_create_tasks_reports_no_progress_past_a_refused_item(board: Board) -> None:
    heard: list[int] = []
    items = [board.command(f"t{i}") for i in range(BATCH_CHUNK_SIZE + 3)]
    items[BATCH_CHUNK_SIZE + 1] = board.command(parent_id=uuid4())
    with pytest.raises(BatchItemRefused) as refused:
        await CreateTasks(board.uow_factory)(CreateTasksCommand(tasks=items), heard.append)
    assert refused.value.index == BATCH_CHUNK_SIZE + 1
    assert heard == [BATCH_CHUNK_SIZE]
    assert board.store.tasks == {}


def test_create_tasks_command_needs_at_least_one_item() -> None:
    with pytest.raises(pydantic.ValidationError):
        CreateTasksCommand(tasks=[])


# --- AssignTask, StartTask ----------------------------------------------------------------------


async def test_assign_task_gives_the_task_to_an_active_user(board: Board) -> None:
    task = await board.create()
    view = await AssignTask(board.uow_factory)(
        AssignTaskCommand(task_id=task.id, assignee_id=board.bob)
    )
    assert (view.assignee_id, view.status, view.version) == (board.bob, TaskStatus.TODO, 2)
    assert board.store.tasks[task.id].assignee_id == board.bob


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("unknown user", NotFound),
        ("unknown task", NotFound),
        ("deactivated user", InactiveUser),
        ("done task", IllegalTransition),
        ("deleted task", IllegalTransition),
    ],
)
async def test_assign_task_is_refused_and_writes_nothing(
    board: Board, case: str, error: type[Exception]
) -> None:
    task = await board.create()
    assignee, task_id = board.bob, task.id
    if case == "unknown user":
        assignee = uuid4()
    elif case == "unknown task":
        task_id = uuid4()
    elif case == "deactivated user":
        board.store.users[board.bob].deactivate()
    elif case == "done task":
        await board.assign_and_start(task.id)
        await board.complete(task.id)
    else:
        await DeleteTask(board.uow_factory)(TaskCommand(task_id=task.id))
    before = board.snapshot()

    with pytest.raises(error):
        await AssignTask(board.uow_factory)(
            AssignTaskCommand(task_id=task_id, assignee_id=assignee)
        )

    assert board.snapshot() == before


async def test_start_task_moves_an_assigned_task_in_progress(board: Board) -> None:
    task = await board.create()
    view = await board.assign_and_start(task.id)
    assert view.status is TaskStatus.IN_PROGRESS
    assert board.status_of(task.id) is TaskStatus.IN_PROGRESS


@pytest.mark.parametrize("state", ["unassigned", "in_progress", "done", "cancelled"])
async def test_start_task_is_refused_unless_the_task_is_assigned_and_todo(
    board: Board, state: str
) -> None:
    task = await board.create()
    if state != "unassigned":
        await board.assign_and_start(task.id)
    if state == "done":
        await board.complete(task.id)
    if state == "cancelled":
        await CancelTask(board.uow_factory)(TaskCommand(task_id=task.id))
    before = board.snapshot()
    with pytest.raises(IllegalTransition):
        await StartTask(board.uow_factory)(TaskCommand(task_id=task.id))
    assert board.snapshot() == before


# --- CompleteTask, CancelTask -------------------------------------------------------------------


async def test_complete_task_pays_the_bounty_to_the_assignee(board: Board) -> None:
    task = await board.create(bounty="40")
    await board.assign_and_start(task.id)
    view = await board.complete(task.id)

    assert view.status is TaskStatus.DONE
    assert (board.balance_of(board.ada), board.balance_of(board.bob)) == (Decimal(60), Decimal(40))
    payout = board.store.entries[-1]
    assert payout.kind is EntryKind.PAYOUT
    assert account_total(board.store, escrow_account(task.id)) == 0


async def test_complete_task_waits_for_every_dependency(board: Board) -> None:
    first, second = await board.create("first"), await board.create("second")
    task = await board.create("last", dependency_ids=[first.id, second.id], bounty="10")
    for started in (first, second, task):
        await board.assign_and_start(started.id)
    await board.complete(first.id)
    before = board.snapshot()

    with pytest.raises(DependencyNotDone, match=str(second.id)):
        await board.complete(task.id)
    assert board.snapshot() == before

    await board.complete(second.id)
    assert (await board.complete(task.id)).status is TaskStatus.DONE
    assert board.balance_of(board.bob) == Decimal(10)


async def test_complete_task_needs_the_assignees_wallet_for_a_bounty(board: Board) -> None:
    walletless = await board.person("cyd", wallet=False)
    task = await board.create(bounty="10")
    await board.assign_and_start(task.id, walletless)
    before = board.snapshot()
    with pytest.raises(NotFound, match="wallet of user"):
        await board.complete(task.id)
    assert board.snapshot() == before


async def test_completing_a_todo_task_is_an_illegal_transition_whoever_it_is_assigned_to(
    board: Board,
) -> None:
    walletless = await board.person("cyd", wallet=False)
    task = await board.create(bounty="10")
    await AssignTask(board.uow_factory)(AssignTaskCommand(task_id=task.id, assignee_id=walletless))
    with pytest.raises(IllegalTransition):
        await board.complete(task.id)


@pytest.mark.parametrize("state", ["todo", "in_progress"])
async def test_cancel_task_refunds_the_bounty_to_the_creator(board: Board, state: str) -> None:
    task = await board.create(bounty="40")
    if state == "in_progress":
        await board.assign_and_start(task.id)
    view = await CancelTask(board.uow_factory)(TaskCommand(task_id=task.id))

    assert view.status is TaskStatus.CANCELLED
    assert (board.balance_of(board.ada), board.balance_of(board.bob)) == (Decimal(100), Decimal(0))
    assert board.store.entries[-1].kind is EntryKind.REFUND


@pytest.mark.parametrize("state", ["done", "cancelled", "deleted"])
async def test_cancel_task_is_refused_once_the_task_is_finished_or_deleted(
    board: Board, state: str
) -> None:
    task = await board.create(bounty="40")
    if state == "done":
        await board.assign_and_start(task.id)
        await board.complete(task.id)
    elif state == "cancelled":
        await CancelTask(board.uow_factory)(TaskCommand(task_id=task.id))
    else:
        await DeleteTask(board.uow_factory)(TaskCommand(task_id=task.id))
    before = board.snapshot()
    with pytest.raises(IllegalTransition):
        await CancelTask(board.uow_factory)(TaskCommand(task_id=task.id))
    assert board.snapshot() == before


@pytest.mark.parametrize("use_case", [StartTask, CompleteTask, CancelTask, DeleteTask, RestoreTask])
async def test_changing_an_unknown_task_is_not_found(board: Board, use_case: Any) -> None:
    with pytest.raises(NotFound, match="task"):
        await use_case(board.uow_factory)(TaskCommand(task_id=uuid4()))


# --- DeleteTask, RestoreTask --------------------------------------------------------------------


async def test_delete_task_hides_it_and_restore_task_brings_it_back(board: Board) -> None:
    task = await board.create(bounty="10")
    deleted = await DeleteTask(board.uow_factory)(TaskCommand(task_id=task.id))
    assert deleted.deleted_at is not None
    assert (await ListTasks(board.uow_factory)(ListTasksQuery())).total == 0
    assert board.balance_of(board.ada) == Decimal(90)

    restored = await RestoreTask(board.uow_factory)(TaskCommand(task_id=task.id))
    assert restored.deleted_at is None
    assert (await ListTasks(board.uow_factory)(ListTasksQuery())).total == 1
    assert (await CancelTask(board.uow_factory)(TaskCommand(task_id=task.id))).status is (
        TaskStatus.CANCELLED
    )
    assert board.balance_of(board.ada) == Decimal(100)


@pytest.mark.parametrize("use_case", [DeleteTask, RestoreTask])
async def test_deleting_twice_or_restoring_a_live_task_is_refused(
    board: Board, use_case: Any
) -> None:
    task = await board.create()
    if use_case is DeleteTask:
        await DeleteTask(board.uow_factory)(TaskCommand(task_id=task.id))
    before = board.snapshot()
    with pytest.raises(IllegalTransition):
        await use_case(board.uow_factory)(TaskCommand(task_id=task.id))
    assert board.snapshot() == before


# --- ChangeTaskStatuses -------------------------------------------------------------------------


async def started_tasks(board: Board, count: int, bounty: str | None = None) -> list[UUID]:
    ids: list[UUID] = []
    for index in range(count):
        view = await board.create(f"t{index}", **({"bounty": bounty} if bounty else {}))
        await board.assign_and_start(view.id)
        ids.append(view.id)
    return ids


async def test_change_task_statuses_moves_every_task_and_counts_the_changes(board: Board) -> None:
    ids = await started_tasks(board, 3, bounty="10")
    changed = await ChangeTaskStatuses(board.uow_factory)(
        ChangeTaskStatusesCommand(task_ids=ids, status=TaskStatus.DONE)
    )
    assert changed.changed == 3
    assert {board.status_of(task_id) for task_id in ids} == {TaskStatus.DONE}
    assert board.balance_of(board.bob) == Decimal(30)


async def test_change_task_statuses_does_not_count_tasks_already_there_or_named_twice(
    board: Board,
) -> None:
    done, cancelled, todo = await board.create("a"), await board.create("b"), await board.create()
    await board.assign_and_start(done.id)
    await board.complete(done.id)
    await CancelTask(board.uow_factory)(TaskCommand(task_id=cancelled.id))
    versions = {done.id: board.store.tasks[done.id].version}

    changed = await ChangeTaskStatuses(board.uow_factory)(
        ChangeTaskStatusesCommand(
            task_ids=[todo.id, cancelled.id, todo.id], status=TaskStatus.CANCELLED
        )
    )
    assert changed.changed == 1
    assert board.status_of(todo.id) is TaskStatus.CANCELLED
    again = await ChangeTaskStatuses(board.uow_factory)(
        ChangeTaskStatusesCommand(task_ids=[done.id], status=TaskStatus.DONE)
    )
    assert again.changed == 0
    assert board.store.tasks[done.id].version == versions[done.id]


@pytest.mark.parametrize(
    ("status", "spoiler"),
    [
        (TaskStatus.DONE, "todo"),
        (TaskStatus.CANCELLED, "done"),
        (TaskStatus.IN_PROGRESS, "unassigned"),
        (TaskStatus.DONE, "unknown"),
    ],
)
async def test_change_task_statuses_is_all_or_nothing(
    board: Board, status: TaskStatus, spoiler: str
) -> None:
    if status is TaskStatus.IN_PROGRESS:
        ids = [(await board.create(f"t{i}")).id for i in range(2)]
        for task_id in ids:
            await AssignTask(board.uow_factory)(
                AssignTaskCommand(task_id=task_id, assignee_id=board.bob)
            )
    else:
        ids = await started_tasks(board, 2, bounty="10")
    bad = uuid4() if spoiler == "unknown" else (await board.create("spoiler")).id
    if spoiler == "done":
        await board.assign_and_start(bad)
        await board.complete(bad)
    before = board.snapshot()

    with pytest.raises(NotFound if spoiler == "unknown" else IllegalTransition):
        await ChangeTaskStatuses(board.uow_factory)(
            ChangeTaskStatusesCommand(task_ids=[ids[0], bad, ids[1]], status=status)
        )

    assert board.snapshot() == before


@pytest.mark.parametrize(
    "dependency_first",
    [
        True,
        False,
    ],
    ids=["dependency-id-sorts-first", "dependent-id-sorts-first"],
)
async def test_change_task_statuses_completes_a_task_together_with_its_dependency(
    board: Board, dependency_first: bool
) -> None:
    low, high = sorted([uuid4(), uuid4()])
    dependency_id, dependent_id = (low, high) if dependency_first else (high, low)
    await board.create("dependency", task_id=dependency_id)
    await board.create("dependent", task_id=dependent_id, dependency_ids=[dependency_id])
    for task_id in (dependency_id, dependent_id):
        await board.assign_and_start(task_id)

    changed = await ChangeTaskStatuses(board.uow_factory)(
        ChangeTaskStatusesCommand(task_ids=[dependent_id, dependency_id], status=TaskStatus.DONE)
    )
    assert changed.changed == 2


@pytest.mark.parametrize(
    "fields",
    [
        {"task_ids": [], "status": "done"},
        {"task_ids": [str(uuid4())] * (MAX_BULK_TASKS + 1), "status": "done"},
        {"task_ids": [str(uuid4())], "status": "todo"},
        {"task_ids": [str(uuid4())], "status": "finished"},
    ],
    ids=["empty", "too-many", "back-to-todo", "unknown-status"],
)
def test_change_task_statuses_command_refuses_bad_input(fields: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        ChangeTaskStatusesCommand.model_validate(fields)


# --- AddDependency ------------------------------------------------------------------------------


async def add_dependency(board: Board, task_id: UUID, depends_on_id: UUID) -> TaskView:
    return await AddDependency(board.uow_factory)(
        AddDependencyCommand(task_id=task_id, depends_on_id=depends_on_id)
    )


async def test_add_dependency_makes_a_task_wait_for_another(board: Board) -> None:
    task, other = await board.create("a"), await board.create("b")
    view = await add_dependency(board, task.id, other.id)
    assert view.dependency_ids == [other.id]
    assert board.store.tasks[task.id].dependency_ids == {other.id}


@pytest.mark.parametrize("length", [1, 2, 3, 5])
async def test_add_dependency_refuses_to_close_a_cycle(board: Board, length: int) -> None:
    chain = [(await board.create(f"t{i}")).id for i in range(length)]
    for waiting, awaited in itertools.pairwise(chain):
        await add_dependency(board, waiting, awaited)
    before = board.snapshot()
    with pytest.raises(DependencyCycle):
        await add_dependency(board, chain[-1], chain[0])
    assert board.snapshot() == before


async def test_add_dependency_allows_a_diamond(board: Board) -> None:
    top, left, right, bottom = [(await board.create(name)).id for name in "tlrb"]
    for waiting, awaited in [(top, left), (top, right), (left, bottom), (right, bottom)]:
        await add_dependency(board, waiting, awaited)
    assert board.store.tasks[top].dependency_ids == {left, right}


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("deleted other", IllegalTransition),
        ("done task", IllegalTransition),
        ("unknown other", NotFound),
        ("unknown task", NotFound),
    ],
)
async def test_add_dependency_is_refused_and_writes_nothing(
    board: Board, case: str, error: type[Exception]
) -> None:
    task, other = await board.create("a"), await board.create("b")
    task_id, other_id = task.id, other.id
    if case == "deleted other":
        await DeleteTask(board.uow_factory)(TaskCommand(task_id=other.id))
    elif case == "done task":
        await board.assign_and_start(task.id)
        await board.complete(task.id)
    elif case == "unknown other":
        other_id = uuid4()
    else:
        task_id = uuid4()
    before = board.snapshot()
    with pytest.raises(error):
        await add_dependency(board, task_id, other_id)
    assert board.snapshot() == before


# --- GetTask ------------------------------------------------------------------------------------


async def test_get_task_shows_its_live_subtasks_and_its_dependencies_oldest_first(
    board: Board,
) -> None:
    first_dependency, second_dependency = await board.create("d1"), await board.create("d2")
    task = await board.create("parent", dependency_ids=[second_dependency.id, first_dependency.id])
    first, gone, last = [(await board.create(n, parent_id=task.id)).id for n in "xyz"]
    await DeleteTask(board.uow_factory)(TaskCommand(task_id=gone))
    await DeleteTask(board.uow_factory)(TaskCommand(task_id=second_dependency.id))

    details = await GetTask(board.uow_factory)(GetTaskQuery(task_id=task.id))

    assert details.task == TaskView.of(board.store.tasks[task.id])
    assert [sub.id for sub in details.subtasks] == [first, last]
    assert [dep.id for dep in details.dependencies] == [first_dependency.id, second_dependency.id]
    assert details.dependencies[1].deleted_at is not None


async def test_get_task_of_an_unknown_id_is_not_found(board: Board) -> None:
    with pytest.raises(NotFound, match="task"):
        await GetTask(board.uow_factory)(GetTaskQuery(task_id=uuid4()))


async def test_get_task_shows_a_deleted_task(board: Board) -> None:
    task = await board.create()
    await DeleteTask(board.uow_factory)(TaskCommand(task_id=task.id))
    details = await GetTask(board.uow_factory)(GetTaskQuery(task_id=task.id))
    assert details.task.deleted_at is not None


# --- ListTasks ----------------------------------------------------------------------------------


class Listing:
    """Tasks that the filters pick differently, known by their titles; people by their names."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.people = {"ada": board.ada, "bob": board.bob}
        self.views: dict[str, TaskView] = {}

    @classmethod
    async def build(cls, board: Board) -> Listing:
        listing = cls(board)
        cyd = listing.people["cyd"] = await board.person("cyd", "50")
        create = listing.create
        epic = await create("epic", bounty="5")
        alpha = await create("alpha", parent_id=epic, bounty="20")
        bravo = await create("bravo", creator_id=cyd, bounty="20")
        charlie = await create("charlie", parent_id=epic)
        deleted = await create("deleted delta", bounty="1")
        await create("echo ALPHA", creator_id=cyd, bounty="3")
        await board.assign_and_start(alpha)
        await board.assign_and_start(bravo)
        await board.complete(bravo)
        await CancelTask(board.uow_factory)(TaskCommand(task_id=charlie))
        await DeleteTask(board.uow_factory)(TaskCommand(task_id=deleted))
        listing.views = {
            title: TaskView.of(board.store.tasks[view.id]) for title, view in listing.views.items()
        }
        return listing

    async def create(self, title: str, **fields: Any) -> UUID:
        view = await self.board.create(title, **fields)
        self.views[title] = view
        return view.id

    def live(self) -> list[TaskView]:
        return [view for view in self.views.values() if view.deleted_at is None]

    def resolve(self, query: dict[str, Any]) -> dict[str, Any]:
        """The query with names of people and titles of tasks replaced by what they stand for."""
        resolved = dict(query)
        for key in ("assignee_id", "creator_id"):
            if key in resolved:
                resolved[key] = self.people[resolved[key]]
        if "parent_id" in resolved:
            resolved["parent_id"] = self.views[resolved["parent_id"]].id
        for key in ("created_after", "created_before"):
            if key in resolved:
                resolved[key] = self.views[resolved[key]].created_at
        return resolved

    async def titles(self, **query: Any) -> list[str]:
        page = await ListTasks(self.board.uow_factory)(
            ListTasksQuery.model_validate(self.resolve(query))
        )
        return [task.title for task in page.tasks]


@pytest.fixture
async def listing(board: Board) -> Listing:
    return await Listing.build(board)


FILTERS: list[tuple[dict[str, Any], list[str]]] = [
    ({}, ["epic", "alpha", "bravo", "charlie", "echo ALPHA"]),
    (
        {"include_deleted": True},
        ["epic", "alpha", "bravo", "charlie", "deleted delta", "echo ALPHA"],
    ),
    ({"status": "todo"}, ["epic", "echo ALPHA"]),
    ({"status": "in_progress"}, ["alpha"]),
    ({"status": "done"}, ["bravo"]),
    ({"status": "cancelled"}, ["charlie"]),
    ({"status": "todo", "include_deleted": True}, ["epic", "deleted delta", "echo ALPHA"]),
    ({"assignee_id": "bob"}, ["alpha", "bravo"]),
    ({"assignee_id": "ada"}, []),
    ({"creator_id": "cyd"}, ["bravo", "echo ALPHA"]),
    ({"parent_id": "epic"}, ["alpha", "charlie"]),
    ({"top_level_only": True}, ["epic", "bravo", "echo ALPHA"]),
    ({"created_after": "alpha"}, ["bravo", "charlie", "echo ALPHA"]),
    ({"created_before": "bravo"}, ["epic", "alpha"]),
    ({"created_after": "epic", "created_before": "charlie"}, ["alpha", "bravo"]),
    ({"title_contains": "Alpha"}, ["alpha", "echo ALPHA"]),
    ({"title_contains": "delta"}, []),
    ({"title_contains": "delta", "include_deleted": True}, ["deleted delta"]),
    ({"status": "todo", "creator_id": "cyd"}, ["echo ALPHA"]),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS, ids=[str(query) for query, _ in FILTERS])
async def test_list_tasks_keeps_only_the_tasks_that_match_every_filter(
    listing: Listing, query: dict[str, Any], expected: list[str]
) -> None:
    assert await listing.titles(**query) == expected


SORT_KEYS: dict[TaskSort, Callable[[TaskView], Any]] = {
    TaskSort.CREATED_AT: lambda task: task.created_at,
    TaskSort.UPDATED_AT: lambda task: task.updated_at,
    TaskSort.TITLE: lambda task: task.title,
    TaskSort.STATUS: lambda task: task.status.value,
    TaskSort.BOUNTY: lambda task: task.bounty,
}


@pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
@pytest.mark.parametrize("sort", list(TaskSort))
async def test_list_tasks_sorts_by_each_key_with_ties_in_id_order(
    listing: Listing, sort: TaskSort, descending: bool
) -> None:
    page = await ListTasks(listing.board.uow_factory)(
        ListTasksQuery(sort=sort, descending=descending)
    )
    expected = sorted(listing.live(), key=lambda t: (SORT_KEYS[sort](t), t.id), reverse=descending)
    assert [task.id for task in page.tasks] == [task.id for task in expected]


async def test_list_tasks_sorts_by_the_column_before_the_id(listing: Listing) -> None:
    """Spot checks of the sorts above, so they do not merely agree with their own oracle."""
    by_title = ["alpha", "bravo", "charlie", "echo ALPHA", "epic"]
    assert await listing.titles(sort="title") == by_title
    assert await listing.titles(sort="title", descending=True) == by_title[::-1]
    by_bounty = await listing.titles(sort="bounty", descending=True)
    assert by_bounty[2:] == ["epic", "echo ALPHA", "charlie"]
    assert (await listing.titles(sort="status"))[:2] == ["charlie", "bravo"]


async def test_list_tasks_pages_through_the_matches_with_the_total(listing: Listing) -> None:
    list_tasks = ListTasks(listing.board.uow_factory)
    pages = [
        await list_tasks(ListTasksQuery(sort=TaskSort.TITLE, limit=2, offset=offset))
        for offset in (0, 2, 4, 6)
    ]
    assert [[task.title for task in page.tasks] for page in pages] == [
        ["alpha", "bravo"],
        ["charlie", "echo ALPHA"],
        ["epic"],
        [],
    ]
    assert {(page.total, page.limit) for page in pages} == {(5, 2)}
    assert [page.offset for page in pages] == [0, 2, 4, 6]


@pytest.mark.parametrize(
    "fields",
    [
        {"limit": 0},
        {"limit": MAX_PAGE_SIZE + 1},
        {"offset": -1},
        {"title_contains": ""},
        {"sort": "description"},
        {"sort": "title; DROP TABLE tasks"},
        {"status": "lost"},
    ],
)
def test_list_tasks_query_refuses_bad_input(fields: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        ListTasksQuery.model_validate(fields)


@pytest.mark.parametrize("key", ["created_after", "created_before"])
async def test_list_tasks_refuses_or_understands_a_moment_without_a_time_zone(
    listing: Listing, key: str
) -> None:
    aware = listing.views["alpha"].created_at
    try:
        query = ListTasksQuery.model_validate({key: aware.replace(tzinfo=None)})
    except pydantic.ValidationError:
        return
    page = await ListTasks(listing.board.uow_factory)(query)
    assert [task.title for task in page.tasks] == await listing.titles(**{key: "alpha"})


# --- ExportTasks --------------------------------------------------------------------------------


async def test_export_tasks_yields_every_task_oldest_first_deleted_ones_too(
    listing: Listing,
) -> None:
    exported = [task async for task in ExportTasks(listing.board.uow_factory)()]
    expected = sorted(listing.board.store.tasks.values(), key=lambda t: (t.created_at, t.id))
    assert exported == [TaskView.of(task) for task in expected]
    assert any(task.deleted_at is not None for task in exported)


async def test_export_tasks_of_an_empty_board_yields_nothing(board: Board) -> None:
    assert [task async for task in ExportTasks(board.uow_factory)()] == []


async def test_export_tasks_shows_dependencies(board: Board) -> None:
    first = await board.create("first")
    second = await board.create("second", dependency_ids=[first.id])
    exported = {task.id: task async for task in ExportTasks(board.uow_factory)()}
    assert exported[second.id].dependency_ids == [first.id]
    assert isinstance(exported[first.id].created_at, datetime)


# --- acting users -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("use_case", "actor", "role"),
    [
        (StartTask, "ada", "assignee"),
        (CompleteTask, "ada", "assignee"),
        (CancelTask, "bob", "creator"),
        (DeleteTask, "bob", "creator"),
    ],
)
async def test_an_actor_without_the_role_is_refused_and_nothing_changes(
    board: Board, use_case: type[StartTask], actor: str, role: str
) -> None:
    task = await board.create(bounty="10")
    await AssignTask(board.uow_factory)(AssignTaskCommand(task_id=task.id, assignee_id=board.bob))
    before = board.snapshot()

    with pytest.raises(NotPermitted, match=f"only the {role} of task {task.id}"):
        await use_case(board.uow_factory)(
            TaskCommand(task_id=task.id, actor_id=getattr(board, actor))
        )
    assert board.snapshot() == before


async def test_each_role_may_make_its_own_changes(board: Board) -> None:
    task = await board.create(bounty="10")
    await AssignTask(board.uow_factory)(
        AssignTaskCommand(task_id=task.id, assignee_id=board.bob, actor_id=board.ada)
    )
    await StartTask(board.uow_factory)(TaskCommand(task_id=task.id, actor_id=board.bob))
    done = await CompleteTask(board.uow_factory)(TaskCommand(task_id=task.id, actor_id=board.bob))

    assert done.status is TaskStatus.DONE
    assert board.balance_of(board.bob) == Decimal("10.00")


async def test_a_bulk_change_with_one_task_of_another_creator_changes_none(board: Board) -> None:
    own = await board.create("own")
    foreign = await CreateTask(board.uow_factory)(
        CreateTaskCommand(creator_id=board.bob, title="foreign")
    )
    before = board.snapshot()

    with pytest.raises(NotPermitted, match=f"only the creator of task {foreign.id}"):
        await ChangeTaskStatuses(board.uow_factory)(
            ChangeTaskStatusesCommand(
                task_ids=[own.id, foreign.id], status=TaskStatus.CANCELLED, actor_id=board.ada
            )
        )
    assert board.snapshot() == before
