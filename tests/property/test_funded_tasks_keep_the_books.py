"""Funded tasks and transfers, with failures injected into random units, keep the books.

Each hypothesis example registers fresh users with wallets in one database shared by the whole
test function, then runs a random mix of deposits, transfers and task use cases: creating tasks
with and without bounties, parents and dependencies; assigning, starting, completing,
cancelling, deleting and restoring them; adding dependencies, some of which would close a cycle;
and moving many tasks at once. One operation in three has a fault injected: in the middle of
the unit, before it commits, or (on SQL) after its SQL reached the database.

After every operation the stored state is read past any unit of work (plain SQL on a fresh
connection, or the fake's store). The example's own wallets, tasks and postings, which are all
an operation may touch, are held to a plain model and to the invariants: each wallet holds the
sum of its postings and never less than nothing, each open task's escrow holds its bounty and a
done or cancelled one's nothing, no done task waits for one that is not, and a failed operation
changed nothing, not even a row count. Totals over all of storage are checked too: the ledger
sums to zero entry by entry, and wallets plus escrow hold exactly what was minted. At the end of
each example every wallet and task in storage is checked against its postings.
"""

from __future__ import annotations

import abc
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from application.ports.unit_of_work import UnitOfWorkFactory
from application.use_cases import (
    DepositCredits,
    DepositCreditsCommand,
    OpenWallet,
    OpenWalletCommand,
    RegisterUser,
    RegisterUserCommand,
    TransferCredits,
    TransferCreditsCommand,
    TransferReceipt,
)
from application.use_cases.tasks.changing import (
    AddDependency,
    AddDependencyCommand,
    AssignTask,
    AssignTaskCommand,
    CancelTask,
    ChangedTasks,
    ChangeTaskStatuses,
    ChangeTaskStatusesCommand,
    CompleteTask,
    DeleteTask,
    RestoreTask,
    StartTask,
    TaskCommand,
)
from application.use_cases.tasks.creating import CreateTask, CreateTaskCommand
from application.views import TaskView, WalletView
from domain.errors import (
    DependencyCycle,
    DependencyNotDone,
    DomainError,
    IllegalTransition,
    InsufficientFunds,
    InvalidTransfer,
    NotFound,
)
from domain.ledger import MINT_ACCOUNT, escrow_account, wallet_account
from domain.tasks import TaskStatus
from infrastructure.in_memory import InMemoryStore
from tests.databases import Databases
from tests.property.backends import Harness, from_minor_units, harness_on, reading, to_minor_units
from tests.property.faults import (
    FaultPoint,
    InjectedFault,
)

# --- The model ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """A user of one example, with the one wallet the user holds."""

    user: UUID
    wallet: UUID


@dataclass(frozen=True)
class TaskFacts:
    """What the model predicts of a task, and what is compared with storage."""

    creator: UUID
    status: TaskStatus
    assignee: UUID | None
    parent: UUID | None
    bounty: Decimal
    deleted: bool
    dependencies: frozenset[UUID]
    version: int

    @property
    def escrow(self) -> Decimal:
        """What the task's escrow account must hold: the bounty while the task is open."""
        return self.bounty if self.status.is_open else Decimal(0)


@dataclass
class World:
    """One example's users, balances and tasks, as they must be stored."""

    members: tuple[Member, ...]
    balances: dict[UUID, Decimal]
    tasks: dict[UUID, TaskFacts] = field(default_factory=dict)
    id_prefix: int = field(default_factory=lambda: uuid4().int >> 64)
    """The high half of the example's task ids: unique in the database shared by examples."""
    ids_issued: int = 0

    def copy(self) -> World:
        return replace(self, balances=dict(self.balances), tasks=dict(self.tasks))

    def new_task_id(self, rank: int) -> UUID:
        """An unused id that sorts among the example's others by `rank`, then by creation.

        A batch takes the tasks that do not wait for each other in id order, so the order can
        decide which refusal or fault comes first: it is drawn, so that a failing example
        replays and shrinks, rather than left to uuid4.
        """
        self.ids_issued += 1
        return UUID(int=(self.id_prefix << 64) | (rank << 32) | self.ids_issued)

    def wallet_of(self, user: UUID) -> UUID:
        [wallet] = [member.wallet for member in self.members if member.user == user]
        return wallet

    def reachable(self, task_id: UUID) -> set[UUID]:
        """Every task that `task_id` waits for, directly or through others."""
        found: set[UUID] = set()
        frontier = [task_id]
        while frontier:
            fresh = self.tasks[frontier.pop()].dependencies - found
            found |= fresh
            frontier.extend(fresh)
        return found


@dataclass(frozen=True)
class Deposit:
    wallet: UUID
    amount: Decimal


@dataclass(frozen=True)
class Transfer:
    source: UUID
    target: UUID
    amount: Decimal


@dataclass(frozen=True)
class Create:
    task_id: UUID
    creator: UUID
    bounty: Decimal | None
    parent: UUID | None
    dependencies: tuple[UUID, ...]


@dataclass(frozen=True)
class Assign:
    task: UUID
    assignee: UUID


@dataclass(frozen=True)
class Move:
    """StartTask, CompleteTask or CancelTask, by the status it moves to."""

    task: UUID
    status: TaskStatus


@dataclass(frozen=True)
class Delete:
    task: UUID


@dataclass(frozen=True)
class Restore:
    task: UUID


@dataclass(frozen=True)
class Depend:
    task: UUID
    on: UUID


@dataclass(frozen=True)
class MoveMany:
    tasks: tuple[UUID, ...]
    status: TaskStatus


Operation = Deposit | Transfer | Create | Assign | Move | Delete | Restore | Depend | MoveMany
Movement = tuple[str, str, Decimal]
"""An entry as the model predicts it: from one account, to another, how much."""


class Refused(Exception):
    """The model's refusal: the domain error the use case must raise."""

    def __init__(self, error: type[DomainError]) -> None:
        super().__init__(error.__name__)
        self.error = error


@dataclass
class Simulation:
    """Runs one operation on a copy of the world, checking the rules in the use cases' order."""

    world: World
    movements: list[Movement] = field(default_factory=list)
    flushed: bool = False
    changed: int = 0
    updated: set[UUID] = field(default_factory=set)

    def task(self, task_id: UUID) -> TaskFacts:
        if task_id not in self.world.tasks:
            raise Refused(NotFound)
        return self.world.tasks[task_id]

    def update(self, task_id: UUID, **changes: Any) -> None:
        """Change a task; a unit gives each task it changes one new version, however often."""
        task = self.world.tasks[task_id]
        version = task.version if task_id in self.updated else task.version + 1
        self.updated.add(task_id)
        self.world.tasks[task_id] = replace(task, **changes, version=version)

    def move_credits(self, source: UUID | None, target: UUID | None, amount: Decimal) -> None:
        """Between wallets; None is the account outside them (the mint or an escrow)."""
        if source is not None:
            if amount > self.world.balances[source]:
                raise Refused(InsufficientFunds)
            self.world.balances[source] -= amount
        if target is not None:
            self.world.balances[target] += amount

    def start(self, task_id: UUID) -> None:
        task = self.task(task_id)
        if task.deleted or task.status is not TaskStatus.TODO or task.assignee is None:
            raise Refused(IllegalTransition)
        self.update(task_id, status=TaskStatus.IN_PROGRESS)

    def complete(self, task_id: UUID) -> None:
        task = self.task(task_id)
        if task.deleted or task.status is not TaskStatus.IN_PROGRESS:
            raise Refused(IllegalTransition)
        if any(self.task(d).status is not TaskStatus.DONE for d in task.dependencies):
            raise Refused(DependencyNotDone)
        if task.bounty:
            assert task.assignee is not None
            payee = self.world.wallet_of(task.assignee)
            self.move_credits(None, payee, task.bounty)
            self.movements.append((escrow_account(task_id), wallet_account(payee), task.bounty))
        self.update(task_id, status=TaskStatus.DONE)

    def cancel(self, task_id: UUID) -> None:
        task = self.task(task_id)
        if task.deleted or not task.status.is_open:
            raise Refused(IllegalTransition)
        if task.bounty:
            payee = self.world.wallet_of(task.creator)
            self.move_credits(None, payee, task.bounty)
            self.movements.append((escrow_account(task_id), wallet_account(payee), task.bounty))
        self.update(task_id, status=TaskStatus.CANCELLED)

    def to_status(self, task_id: UUID, status: TaskStatus) -> None:
        {
            TaskStatus.IN_PROGRESS: self.start,
            TaskStatus.DONE: self.complete,
            TaskStatus.CANCELLED: self.cancel,
        }[status](task_id)

    def perform(self, operation: Operation) -> None:
        tasks = self.world.tasks
        match operation:
            case Deposit(wallet, amount):
                self.move_credits(None, wallet, amount)
                self.movements.append((MINT_ACCOUNT, wallet_account(wallet), amount))
            case Transfer(source, target, amount):
                if source == target:
                    raise Refused(InvalidTransfer)
                self.move_credits(source, target, amount)
                self.movements.append((wallet_account(source), wallet_account(target), amount))
            case Create(task_id, creator, bounty, parent, dependencies):
                related = [self.task(t) for t in (*([parent] if parent else []), *dependencies)]
                if any(task.deleted for task in related):
                    raise Refused(IllegalTransition)
                if bounty is not None:
                    wallet = self.world.wallet_of(creator)
                    self.move_credits(wallet, None, bounty)
                    self.movements.append((wallet_account(wallet), escrow_account(task_id), bounty))
                tasks[task_id] = TaskFacts(
                    creator=creator,
                    status=TaskStatus.TODO,
                    assignee=None,
                    parent=parent,
                    bounty=bounty or Decimal(0),
                    deleted=False,
                    dependencies=frozenset(dependencies),
                    version=1,
                )
            case Assign(task_id, assignee):
                task = self.task(task_id)
                if task.deleted or not task.status.is_open:
                    raise Refused(IllegalTransition)
                self.update(task_id, assignee=assignee)
            case Move(task_id, status):
                self.to_status(task_id, status)
            case Delete(task_id):
                task = self.task(task_id)
                if task.deleted:
                    raise Refused(IllegalTransition)
                self.update(task_id, deleted=True)
            case Restore(task_id):
                task = self.task(task_id)
                if not task.deleted:
                    raise Refused(IllegalTransition)
                self.update(task_id, deleted=False)
            case Depend(task_id, on):
                task, other = self.task(task_id), self.task(on)
                # Finding what `other` waits for reads the database, so the SQL unit flushes.
                self.flushed = True
                if task.deleted or not task.status.is_open or other.deleted:
                    raise Refused(IllegalTransition)
                if on == task_id or task_id in self.world.reachable(on):
                    raise Refused(DependencyCycle)
                self.update(task_id, dependencies=task.dependencies | {on})
            case MoveMany(task_ids, status):
                for task_id in task_ids:
                    self.task(task_id)
                # Each sees what the earlier ones did, so a batch can complete a task together
                # with the tasks it waits for.
                for task_id in dependencies_first(sorted(set(task_ids)), tasks):
                    if tasks[task_id].status is not status:
                        self.to_status(task_id, status)
                        self.changed += 1


def dependencies_first(ascending: list[UUID], tasks: dict[UUID, TaskFacts]) -> list[UUID]:
    """The order a batch is taken in: a task after those of the batch it waits for, and
    otherwise by ascending id (layer by layer, as the use case documents it)."""
    pending = dict.fromkeys(ascending)
    ordered: list[UUID] = []
    while pending:
        ready = [t for t in pending if not tasks[t].dependencies & pending.keys()]
        for task_id in ready or list(pending):
            ordered.append(task_id)
            del pending[task_id]
    return ordered


@dataclass(frozen=True)
class Plan:
    """What an operation must do: be refused, or leave `after`; and which faults it reaches."""

    refusal: type[DomainError] | None
    movements: tuple[Movement, ...]
    """The entries appended, up to the refusal if there is one."""
    flushes_early: bool
    """The SQL unit flushes before the rules are checked (only AddDependency does)."""
    after: World
    changed: int

    def outcome(self, fault: FaultPoint | None) -> FaultPoint | type[DomainError] | None:
        """The fault that fires, else the refusal, else None for success."""
        if fault is FaultPoint.IN_THE_MIDDLE and self.movements:
            return fault
        if fault is FaultPoint.AFTER_FLUSH and self.flushes_early:
            return fault
        if self.refusal is not None:
            return self.refusal
        # A unit that appends no entry has no middle; it commits as if nothing were armed.
        return None if fault is FaultPoint.IN_THE_MIDDLE else fault


def predict(operation: Operation, world: World) -> Plan:
    simulation = Simulation(world.copy())
    refusal: type[DomainError] | None = None
    try:
        simulation.perform(operation)
    except Refused as refused:
        refusal = refused.error
    return Plan(
        refusal=refusal,
        movements=tuple(simulation.movements),
        flushes_early=simulation.flushed,
        after=simulation.world,
        changed=simulation.changed,
    )


# --- Reading the stored state without going through a unit of work ---------------------------

StoredPosting = tuple[UUID, str, Decimal]
"""A posting as stored: the entry it belongs to, its account, its signed delta."""

TABLES = ("users", "wallets", "tasks", "task_dependencies", "ledger_entries", "ledger_postings")


@dataclass(frozen=True)
class StoredTask:
    facts: TaskFacts
    updated_at: str


@dataclass(frozen=True)
class Snapshot:
    """One example's wallets, tasks and their postings, and how many rows every table has."""

    balances: dict[UUID, Decimal]
    tasks: dict[UUID, StoredTask]
    postings: Counter[StoredPosting]
    """On the example's wallet accounts and on the escrow accounts of its tasks."""
    rows: dict[str, int]

    def facts(self) -> dict[UUID, TaskFacts]:
        return {task_id: task.facts for task_id, task in self.tasks.items()}

    def held(self, account: str) -> Decimal:
        return sum(
            (
                delta * n
                for (_, posted_to, delta), n in self.postings.items()
                if posted_to == account
            ),
            Decimal(0),
        )

    def broken(self) -> list[str]:
        """The invariants that the example's own wallets and tasks break, model aside."""
        found: list[str] = []
        for wallet_id, balance in self.balances.items():
            posted = self.held(wallet_account(wallet_id))
            if balance < 0 or posted != balance:
                found.append(f"wallet {wallet_id} holds {balance}, its postings {posted}")
        for task_id, task in self.facts().items():
            if self.held(escrow_account(task_id)) != task.escrow:
                found.append(f"{task} holds {self.held(escrow_account(task_id))} in escrow")
            if task.status is TaskStatus.DONE:
                found += [
                    f"task {task_id} is done but waits for {d}"
                    for d in task.dependencies
                    if self.tasks[d].facts.status is not TaskStatus.DONE
                ]
        return found


@dataclass(frozen=True)
class Totals:
    """Sums and counts over all of storage, cheap enough to read after every operation."""

    ledger: Decimal
    minted: Decimal
    """Minus the sum of the postings on the mint account."""
    balances: Decimal
    escrow: Decimal
    """The sum of the postings on every escrow account."""
    negative_balances: int
    unbalanced_entries: int
    done_but_waiting: int
    """Dependencies of done tasks that are not done."""

    def broken(self) -> list[str]:
        found = [f"the ledger sums to {self.ledger}"] if self.ledger else []
        if self.balances + self.escrow != self.minted:
            found.append(f"{self.balances} in wallets + {self.escrow} in escrow != {self.minted}")
        counts = {
            "wallets hold less than nothing": self.negative_balances,
            "entries do not sum to zero": self.unbalanced_entries,
            "done tasks wait for tasks not done": self.done_but_waiting,
        }
        return found + [f"{n} {broken}" for broken, n in counts.items() if n]


class Books(abc.ABC):
    """The committed state, read straight from storage, never from a unit's identity map."""

    @abc.abstractmethod
    async def snapshot(self, members: Sequence[Member]) -> Snapshot:
        """The members' wallets, the tasks they created, and the postings on both."""

    @abc.abstractmethod
    async def totals(self) -> Totals: ...

    @abc.abstractmethod
    async def violations(self) -> list[str]:
        """Every broken invariant of every wallet, task and account in storage."""


class StoreBooks(Books):
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def snapshot(self, members: Sequence[Member]) -> Snapshot:
        store = self._store
        users = {member.user for member in members}
        tasks = {
            task.id: StoredTask(
                facts=TaskFacts(
                    creator=task.creator_id,
                    status=task.status,
                    assignee=task.assignee_id,
                    parent=task.parent_id,
                    bounty=task.bounty.value,
                    deleted=task.deleted_at is not None,
                    dependencies=task.dependency_ids,
                    version=task.version,
                ),
                updated_at=task.updated_at.isoformat(),
            )
            for task in store.tasks.values()
            if task.creator_id in users
        }
        accounts = {wallet_account(member.wallet) for member in members}
        accounts |= {escrow_account(task_id) for task_id in tasks}
        return Snapshot(
            balances={m.wallet: store.wallets[m.wallet].balance.value for m in members},
            tasks=tasks,
            postings=Counter(
                (entry.id, posting.account, posting.delta)
                for entry in store.entries
                for posting in entry.postings
                if posting.account in accounts
            ),
            rows={
                "users": len(store.users),
                "wallets": len(store.wallets),
                "tasks": len(store.tasks),
                "task_dependencies": sum(len(t.dependency_ids) for t in store.tasks.values()),
                "ledger_entries": len(store.entries),
                "ledger_postings": sum(len(entry.postings) for entry in store.entries),
            },
        )

    async def totals(self) -> Totals:
        store = self._store
        postings = [posting for entry in store.entries for posting in entry.postings]
        tasks = store.tasks
        return Totals(
            ledger=sum((p.delta for p in postings), Decimal(0)),
            minted=-sum((p.delta for p in postings if p.account == MINT_ACCOUNT), Decimal(0)),
            balances=sum((w.balance.value for w in store.wallets.values()), Decimal(0)),
            escrow=sum((p.delta for p in postings if p.account.startswith("escrow:")), Decimal(0)),
            negative_balances=sum(w.balance.value < 0 for w in store.wallets.values()),
            unbalanced_entries=sum(sum(p.delta for p in e.postings) != 0 for e in store.entries),
            done_but_waiting=sum(
                tasks[d].status is not TaskStatus.DONE
                for task in tasks.values()
                if task.status is TaskStatus.DONE
                for d in task.dependency_ids
            ),
        )

    async def violations(self) -> list[str]:
        store = self._store
        found = (await self.totals()).broken()
        held: dict[str, Decimal] = {}
        for entry in store.entries:
            for posting in entry.postings:
                held[posting.account] = held.get(posting.account, Decimal(0)) + posting.delta
        known = {MINT_ACCOUNT}
        for wallet in store.wallets.values():
            known.add(wallet.account)
            if held.get(wallet.account, Decimal(0)) != wallet.balance.value:
                found.append(f"wallet {wallet.id} disagrees with its postings")
        for task in store.tasks.values():
            known.add(escrow_account(task.id))
            expected = task.bounty.value if task.status.is_open else Decimal(0)
            if held.get(escrow_account(task.id), Decimal(0)) != expected:
                found.append(f"the escrow of {task.status.value} task {task.id} is wrong")
        found += [
            f"postings on account {account}, which is nobody's" for account in held.keys() - known
        ]
        return found


def text_id(column: str, dialect: str) -> str:
    """SQL for the text of a uuid column as Python spells it, so it can name an account."""
    if dialect == "sqlite":
        # Stored as 32 hex digits; accounts carry the hyphenated form.
        parts = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
        return " || '-' || ".join(f"substr({column}, {start}, {n})" for start, n in parts)
    return f"CAST({column} AS TEXT)"


class SqlBooks(Books):
    """Plain SELECTs on a fresh connection.

    Amounts are stored as integer hundredths; SQLite stores ids as 32 hex digits, PostgreSQL
    as uuids, so ids are bound per dialect and read back through their text.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        dialect = engine.dialect.name
        self._bound: Callable[[UUID], object] = (
            (lambda key: key.hex) if dialect == "sqlite" else (lambda key: key)
        )
        wallet_text, task_text = text_id("w.id", dialect), text_id("t.id", dialect)
        held = (
            "SELECT account, SUM(delta) AS held FROM ledger_postings"
            " WHERE account LIKE '{prefix}%' GROUP BY account"
        )
        # Each query lists what breaks one invariant; every one of them must come back empty.
        self._checks = {
            "balances that are not the sum of their postings": (
                "SELECT w.id, w.balance, p.held FROM wallets w"
                f" LEFT JOIN ({held.format(prefix='wallet:')}) p"
                f" ON p.account = 'wallet:' || {wallet_text}"
                " WHERE COALESCE(p.held, 0) <> w.balance"
            ),
            "escrows that are not the open task's bounty, or zero": (
                "SELECT t.id, t.status, t.bounty, e.held FROM tasks t"
                f" LEFT JOIN ({held.format(prefix='escrow:')}) e"
                f" ON e.account = 'escrow:' || {task_text}"
                " WHERE COALESCE(e.held, 0) <>"
                " CASE WHEN t.status IN ('todo', 'in_progress') THEN t.bounty ELSE 0 END"
            ),
            "postings on accounts of no wallet and no task": (
                "SELECT DISTINCT account FROM ledger_postings WHERE account <> :mint"
                f" AND account NOT IN (SELECT 'wallet:' || {wallet_text} FROM wallets w)"
                f" AND account NOT IN (SELECT 'escrow:' || {task_text} FROM tasks t)"
            ),
        }

    async def snapshot(self, members: Sequence[Member]) -> Snapshot:
        def expanding(sql: str, name: str) -> Any:
            return text(sql).bindparams(bindparam(name, expanding=True))

        async with reading(self._engine) as connection:
            balances = await connection.execute(
                expanding("SELECT id, balance FROM wallets WHERE id IN :ids", "ids"),
                {"ids": [self._bound(member.wallet) for member in members]},
            )
            task_rows = (
                await connection.execute(
                    expanding(
                        "SELECT id, creator_id, status, assignee_id, parent_id, bounty,"
                        " deleted_at, version, updated_at FROM tasks WHERE creator_id IN :users",
                        "users",
                    ),
                    {"users": [self._bound(member.user) for member in members]},
                )
            ).all()
            task_ids = [UUID(str(row.id)) for row in task_rows]
            # PostgreSQL cannot compare a uuid with the untyped empty list, so none is sent.
            links: Iterable[Any] = (
                await connection.execute(
                    expanding(
                        "SELECT task_id, depends_on_id FROM task_dependencies"
                        " WHERE task_id IN :ids",
                        "ids",
                    ),
                    {"ids": [self._bound(task_id) for task_id in task_ids]},
                )
                if task_ids
                else []
            )
            dependencies: dict[UUID, set[UUID]] = {}
            for task_id, depends_on_id in links:
                dependencies.setdefault(UUID(str(task_id)), set()).add(UUID(str(depends_on_id)))
            accounts = [wallet_account(member.wallet) for member in members]
            accounts += [escrow_account(task_id) for task_id in task_ids]
            postings = await connection.execute(
                expanding(
                    "SELECT entry_id, account, delta FROM ledger_postings"
                    " WHERE account IN :accounts",
                    "accounts",
                ),
                {"accounts": accounts},
            )
            counts = (
                await connection.execute(
                    text("SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {t})" for t in TABLES))
                )
            ).one()
            return Snapshot(
                balances={UUID(str(row_id)): from_minor_units(b) for row_id, b in balances},
                tasks={
                    task_id: StoredTask(
                        facts=TaskFacts(
                            creator=UUID(str(row.creator_id)),
                            status=TaskStatus(row.status),
                            assignee=optional_id(row.assignee_id),
                            parent=optional_id(row.parent_id),
                            bounty=from_minor_units(row.bounty),
                            deleted=row.deleted_at is not None,
                            dependencies=frozenset(dependencies.get(task_id, ())),
                            version=row.version,
                        ),
                        updated_at=str(row.updated_at),
                    )
                    for task_id, row in zip(task_ids, task_rows, strict=True)
                },
                postings=Counter(
                    (UUID(str(entry_id)), account, from_minor_units(delta))
                    for entry_id, account, delta in postings
                ),
                rows=dict(zip(TABLES, counts, strict=True)),
            )

    async def totals(self) -> Totals:
        async with reading(self._engine) as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT (SELECT COALESCE(SUM(delta), 0) FROM ledger_postings),"
                        " (SELECT COALESCE(SUM(delta), 0) FROM ledger_postings"
                        "  WHERE account = :mint),"
                        " (SELECT COALESCE(SUM(balance), 0) FROM wallets),"
                        " (SELECT COALESCE(SUM(delta), 0) FROM ledger_postings"
                        "  WHERE account LIKE 'escrow:%'),"
                        " (SELECT COUNT(*) FROM wallets WHERE balance < 0),"
                        " (SELECT COUNT(*) FROM (SELECT entry_id FROM ledger_postings"
                        "  GROUP BY entry_id HAVING SUM(delta) <> 0) AS unbalanced),"
                        " (SELECT COUNT(*) FROM task_dependencies d"
                        "  JOIN tasks t ON t.id = d.task_id JOIN tasks o ON o.id = d.depends_on_id"
                        "  WHERE t.status = 'done' AND o.status <> 'done')"
                    ),
                    {"mint": MINT_ACCOUNT},
                )
            ).one()
        ledger, mint, balances, escrow, negative, unbalanced, waiting = row
        return Totals(
            ledger=from_minor_units(int(ledger)),
            minted=-from_minor_units(int(mint)),
            balances=from_minor_units(int(balances)),
            escrow=from_minor_units(int(escrow)),
            negative_balances=negative,
            unbalanced_entries=unbalanced,
            done_but_waiting=waiting,
        )

    async def violations(self) -> list[str]:
        found = (await self.totals()).broken()
        async with reading(self._engine) as connection:
            for broken, query in self._checks.items():
                rows = (await connection.execute(text(query), {"mint": MINT_ACCOUNT})).all()
                found += [f"{broken}: {tuple(row)}" for row in rows]
            return found


def optional_id(raw: object) -> UUID | None:
    return None if raw is None else UUID(str(raw))


# --- The backends under test ------------------------------------------------------------------


@pytest.fixture
async def harness(backend: str, databases: Databases) -> Harness[Books]:
    """One store or database for the whole test function; each example registers its users."""
    return await harness_on(backend, databases, StoreBooks, SqlBooks)


# --- Drawing operations -----------------------------------------------------------------------

amounts = st.integers(min_value=1, max_value=100_000).map(from_minor_units)


def amounts_around(balance: Decimal) -> st.SearchStrategy[Decimal]:
    """Mostly affordable amounts; also the balance itself and just past it, for off-by-ones."""
    past = st.sampled_from((Decimal("0.01"), Decimal(1))).map(lambda extra: balance + extra)
    if balance == 0:
        return past | amounts
    within = st.integers(min_value=1, max_value=to_minor_units(balance)).map(from_minor_units)
    return st.one_of(within, within, within, st.just(balance), past, amounts)


def is_live(task: TaskFacts) -> bool:
    return task.status.is_open and not task.deleted


ELIGIBLE: dict[TaskStatus, Callable[[TaskFacts], bool]] = {
    TaskStatus.IN_PROGRESS: lambda t: (
        is_live(t) and t.status is TaskStatus.TODO and t.assignee is not None
    ),
    TaskStatus.DONE: lambda t: not t.deleted and t.status is TaskStatus.IN_PROGRESS,
    TaskStatus.CANCELLED: is_live,
}

# Each kind of operation, and the tasks it suits (None: it needs no task). Repeated kinds are
# drawn more often: tasks need creating and moving along before most operations can succeed.
SUITS: dict[str, Callable[[TaskFacts], bool] | None] = {
    "deposit": None,
    "transfer": None,
    "create": None,
    "assign": lambda t: is_live(t) and t.assignee is None,
    "start": ELIGIBLE[TaskStatus.IN_PROGRESS],
    "complete": ELIGIBLE[TaskStatus.DONE],
    "cancel": ELIGIBLE[TaskStatus.CANCELLED],
    "delete": lambda t: not t.deleted,
    "restore": lambda t: t.deleted,
    "depend": is_live,
    "move many": lambda t: any(suits(t) for suits in ELIGIBLE.values()),
}
KINDS = (
    *("create",) * 6,
    *("assign", "start", "complete") * 4,
    *("depend", "move many") * 2,
    *("deposit", "transfer", "cancel", "delete", "restore"),
)


def one_in(data: st.DataObject, n: int, label: str) -> bool:
    """True once in `n` draws. Hypothesis favours the first choice, so it is the common one."""
    return data.draw(st.sampled_from((False,) * (n - 1) + (True,)), label=label)


def suited_to(kind: str) -> Callable[[TaskFacts], bool]:
    suits = SUITS[kind]
    assert suits is not None, f"{kind} needs no task"
    return suits


def favouring_waiting(data: st.DataObject, world: World, kind: str) -> Callable[[TaskFacts], bool]:
    """Half of the time only tasks that wait for others, if any suit: they are the ones whose
    completion the dependency rule may refuse, and they need assigning and starting first."""
    suits = suited_to(kind)
    if not data.draw(st.booleans(), label="a waiting task?"):
        return suits
    waiting = [t for t in world.tasks.values() if suits(t) and t.dependencies]
    return (lambda t: suits(t) and bool(t.dependencies)) if waiting else suits


def pick_task(
    data: st.DataObject, world: World, eligible: Callable[[TaskFacts], bool], label: str
) -> UUID:
    """Mostly a task the operation suits, sometimes any task, rarely one that does not exist."""
    if one_in(data, 20, f"{label}: unknown?"):
        return data.draw(st.uuids(version=4), label=f"{label}: unknown id")
    suited = [task_id for task_id, task in world.tasks.items() if eligible(task)]
    if not suited or one_in(data, 5, f"{label}: any?"):
        suited = list(world.tasks)
    return data.draw(st.sampled_from(suited), label=label)


def draw_kind(data: st.DataObject, world: World) -> str:
    """Mostly a kind that some task suits, so that tasks move along; sometimes any kind."""
    if not world.tasks:
        return data.draw(st.sampled_from(("create", "deposit", "transfer")), label="kind")
    suited = [
        kind
        for kind in KINDS
        if (suits := SUITS[kind]) is None or any(suits(t) for t in world.tasks.values())
    ]
    any_kind = one_in(data, 8, "any kind?")
    return data.draw(st.sampled_from(KINDS if any_kind else suited), label="kind")


def draw_operation(data: st.DataObject, world: World) -> Operation:
    kind = draw_kind(data, world)
    users = [member.user for member in world.members]
    wallets = [member.wallet for member in world.members]
    if kind == "deposit":
        return Deposit(data.draw(st.sampled_from(wallets), label="wallet"), data.draw(amounts))
    if kind == "transfer":
        source = data.draw(st.sampled_from(wallets), label="source")
        # One transfer in four goes from a wallet to itself, which must always be refused.
        if one_in(data, 4, "to itself?"):
            target = source
        else:
            others = [wallet for wallet in wallets if wallet != source]
            target = data.draw(st.sampled_from(others), label="target")
        return Transfer(source, target, data.draw(amounts_around(world.balances[source])))
    if kind == "create":
        creator = data.draw(st.sampled_from(users), label="creator")
        balance = world.balances[world.wallet_of(creator)]
        bounty = data.draw(st.none() | amounts_around(balance), label="bounty")
        parent = (
            pick_task(data, world, lambda t: not t.deleted, "parent")
            if bool(world.tasks) and data.draw(st.booleans(), label="parent?")
            else None
        )
        # Mostly on tasks still to be done, so that completing often has to wait for them.
        pending = [t for t, task in world.tasks.items() if task.status is not TaskStatus.DONE]
        dependencies = (
            data.draw(
                st.lists(
                    st.sampled_from(pending or list(world.tasks)),
                    min_size=1,
                    max_size=3,
                    unique=True,
                ),
                label="dependencies",
            )
            if bool(world.tasks) and data.draw(st.booleans(), label="dependencies?")
            else []
        )
        task_id = world.new_task_id(
            data.draw(st.integers(min_value=0, max_value=255), label="rank")
        )
        return Create(task_id, creator, bounty, parent, tuple(dependencies))
    if kind == "assign":
        task = pick_task(data, world, favouring_waiting(data, world, kind), "task")
        return Assign(task, data.draw(st.sampled_from(users), label="assignee"))
    if kind in ("start", "complete"):
        status = TaskStatus.IN_PROGRESS if kind == "start" else TaskStatus.DONE
        return Move(pick_task(data, world, favouring_waiting(data, world, kind), "task"), status)
    if kind == "cancel":
        return Move(pick_task(data, world, suited_to(kind), "task"), TaskStatus.CANCELLED)
    if kind == "delete":
        return Delete(pick_task(data, world, suited_to(kind), "task"))
    if kind == "restore":
        return Restore(pick_task(data, world, suited_to(kind), "task"))
    if kind == "depend":
        task = pick_task(data, world, suited_to(kind), "task")
        # One in two tries to close a cycle: `task` itself, or a task that already waits for it.
        waiting = (
            [t for t in world.tasks if t == task or task in world.reachable(t)]
            if task in world.tasks
            else []
        )
        if bool(waiting) and data.draw(st.booleans(), label="close a cycle?"):
            return Depend(task, data.draw(st.sampled_from(waiting), label="on"))
        return Depend(task, pick_task(data, world, lambda t: not t.deleted, "on"))
    status = data.draw(st.sampled_from(list(ELIGIBLE)), label="status")
    count = data.draw(st.integers(min_value=1, max_value=4), label="how many")
    picked = [pick_task(data, world, ELIGIBLE[status], "task") for _ in range(count)]
    # Half of the batches also hold what their tasks wait for, so that completing a task
    # together with its dependencies comes up, in whatever order their ids sort.
    if data.draw(st.booleans(), label="with what they wait for?"):
        picked += [d for t in picked if t in world.tasks for d in world.tasks[t].dependencies]
    return MoveMany(tuple(picked), status)


# --- Driving the use cases --------------------------------------------------------------------

Outcome = WalletView | TransferReceipt | TaskView | ChangedTasks | DomainError | InjectedFault
MOVES: dict[TaskStatus, type[StartTask | CompleteTask | CancelTask]] = {
    TaskStatus.IN_PROGRESS: StartTask,
    TaskStatus.DONE: CompleteTask,
    TaskStatus.CANCELLED: CancelTask,
}


async def register_member(uow_factory: UnitOfWorkFactory) -> Member:
    unique = uuid4().hex
    user = await RegisterUser(uow_factory)(
        RegisterUserCommand(email=f"{unique}@example.com", username=f"u{unique[:24]}")
    )
    wallet = await OpenWallet(uow_factory)(OpenWalletCommand(owner_id=user.id))
    return Member(user=user.id, wallet=wallet.id)


async def attempt(operation: Operation, uow: UnitOfWorkFactory) -> Outcome:
    """The use case's result, or the refusal or injected fault it raised."""
    try:
        match operation:
            case Deposit(wallet, amount):
                return await DepositCredits(uow)(
                    DepositCreditsCommand(wallet_id=wallet, amount=amount)
                )
            case Transfer(source, target, amount):
                return await TransferCredits(uow)(
                    TransferCreditsCommand(
                        source_wallet_id=source, target_wallet_id=target, amount=amount
                    )
                )
            case Create(task_id, creator, bounty, parent, dependencies):
                return await CreateTask(uow)(
                    CreateTaskCommand(
                        task_id=task_id,
                        creator_id=creator,
                        title="a funded task",
                        bounty=bounty,
                        parent_id=parent,
                        dependency_ids=list(dependencies),
                    )
                )
            case Assign(task, assignee):
                return await AssignTask(uow)(AssignTaskCommand(task_id=task, assignee_id=assignee))
            case Move(task, status):
                return await MOVES[status](uow)(TaskCommand(task_id=task))
            case Delete(task):
                return await DeleteTask(uow)(TaskCommand(task_id=task))
            case Restore(task):
                return await RestoreTask(uow)(TaskCommand(task_id=task))
            case Depend(task, on):
                return await AddDependency(uow)(
                    AddDependencyCommand(task_id=task, depends_on_id=on)
                )
            case MoveMany(tasks, status):
                return await ChangeTaskStatuses(uow)(
                    ChangeTaskStatusesCommand(task_ids=list(tasks), status=status)
                )
    except (DomainError, InjectedFault) as error:
        return error


def facts_of(view: TaskView) -> TaskFacts:
    return TaskFacts(
        creator=view.creator_id,
        status=view.status,
        assignee=view.assignee_id,
        parent=view.parent_id,
        bounty=view.bounty,
        deleted=view.deleted_at is not None,
        dependencies=frozenset(view.dependency_ids),
        version=view.version,
    )


def assert_result_matches(operation: Operation, outcome: Outcome, world: World, plan: Plan) -> None:
    """What the use case returned agrees with the model."""
    match operation:
        case Deposit(wallet, _):
            assert isinstance(outcome, WalletView)
            assert (outcome.id, outcome.balance) == (wallet, world.balances[wallet])
        case Transfer(source, target, _):
            assert isinstance(outcome, TransferReceipt)
            assert outcome.source_balance == world.balances[source]
            assert outcome.target_balance == world.balances[target]
        case MoveMany():
            assert isinstance(outcome, ChangedTasks)
            assert outcome.changed == plan.changed
        case _:
            assert isinstance(outcome, TaskView)
            assert facts_of(outcome) == world.tasks[outcome.id]


def posted(movements: Iterable[Movement], accounts: set[str]) -> Counter[tuple[str, Decimal]]:
    """The postings the movements make on these accounts."""
    return Counter(
        (account, delta)
        for source, target, amount in movements
        for account, delta in ((source, -amount), (target, amount))
        if account in accounts
    )


def assert_stored_as_modelled(
    before: Snapshot, after: Snapshot, world: World, previous: World, movements: Sequence[Movement]
) -> None:
    """Storage holds what the model predicts after a successful operation, and nothing more."""
    assert after.balances == world.balances
    assert after.facts() == world.tasks
    for task_id, task in world.tasks.items():
        assert after.held(escrow_account(task_id)) == task.escrow, f"escrow of {task_id}"
    assert not before.postings - after.postings, "committed postings disappeared"
    new = after.postings - before.postings
    accounts = {account for _, account, _ in after.postings}
    # Two entries of one operation may post the same amount to the same account.
    new_postings: Counter[tuple[str, Decimal]] = Counter()
    for (_, account, delta), n in new.items():
        new_postings[account, delta] += n
    assert new_postings == posted(movements, accounts)
    assert len({entry_id for entry_id, _, _ in new}) == len(movements)
    links = sum(len(task.dependencies) for task in world.tasks.values())
    links_before = sum(len(task.dependencies) for task in previous.tasks.values())
    assert after.rows == {
        **before.rows,
        "tasks": before.rows["tasks"] + len(world.tasks) - len(previous.tasks),
        "task_dependencies": before.rows["task_dependencies"] + links - links_before,
        "ledger_entries": before.rows["ledger_entries"] + len(movements),
        "ledger_postings": before.rows["ledger_postings"] + 2 * len(movements),
    }


def describe(operation: Operation, outcome: Outcome) -> str:
    name = type(operation).__name__
    if isinstance(operation, Move | MoveMany):
        name += f" to {operation.status.value}"
    if isinstance(operation, Create) and operation.bounty:
        name += " with a bounty"
    if isinstance(outcome, InjectedFault):
        return f"{name} -> fault at {outcome.point.name}"
    if isinstance(outcome, DomainError):
        return f"{name} -> {type(outcome).__name__}"
    return f"{name} -> done"


@dataclass
class Example:
    """One example: its model, and what storage held after its last operation."""

    harness: Harness[Books]
    world: World
    stored: Snapshot | None = None

    async def perform(self, operation: Operation, fault: FaultPoint | None) -> None:
        """Run one operation with `fault` armed, and hold storage and the result to the model."""
        switch, books, world = self.harness.switch, self.harness.books, self.world
        plan = predict(operation, world)
        # Nothing else writes between two operations: what the last one left is still there.
        before = self.stored or await books.snapshot(world.members)
        switch.arm(fault)
        try:
            outcome = await attempt(operation, self.harness.uow_factory)
        finally:
            switch.disarm()
        after = self.stored = await books.snapshot(world.members)
        # Shown by --hypothesis-show-statistics: every kind of outcome should come up.
        event(describe(operation, outcome))

        expected = plan.outcome(fault)
        if isinstance(expected, FaultPoint):
            assert isinstance(outcome, InjectedFault), f"{operation} under {fault}: {outcome!r}"
            assert outcome is switch.raised, "the injected fault reached the caller changed"
            assert outcome.point is expected
        elif expected is not None:
            assert type(outcome) is expected, f"{operation} should be {expected}: {outcome!r}"
            assert switch.raised is None, f"{fault} fired, though the rule refuses first"
        else:
            assert not isinstance(outcome, DomainError | InjectedFault), f"{operation}: {outcome!r}"
            assert switch.raised is None

        if expected is not None:
            assert after == before, f"the failed {operation} left a trace"
        else:
            assert_stored_as_modelled(before, after, plan.after, world, plan.movements)
            assert_result_matches(operation, outcome, plan.after, plan)
            self.world = plan.after
        # The example's own rows are all that an operation may touch; the totals cover the rest.
        assert after.broken() + (await books.totals()).broken() == []


@settings(
    # The store or database is shared by the examples on purpose: each one registers its users.
    suppress_health_check=[*settings().suppress_health_check, HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_funded_tasks_and_transfers_keep_the_books_whatever_fails(
    harness: Harness[Books], data: st.DataObject
) -> None:
    members = [
        await register_member(harness.uow_factory)
        for _ in range(data.draw(st.integers(min_value=2, max_value=3), label="members"))
    ]
    example = Example(
        harness, World(tuple(members), dict.fromkeys((m.wallet for m in members), Decimal(0)))
    )
    # Funded wallets first, so that many of the bounties and transfers can succeed.
    for member in members:
        funding = data.draw(st.none() | amounts, label="funding")
        if funding is not None:
            await example.perform(Deposit(member.wallet, funding), None)

    # Long enough for chains of dependent tasks to be created, started and completed.
    for _ in range(data.draw(st.integers(min_value=1, max_value=40), label="operations")):
        operation = draw_operation(data, example.world)
        # A fault in one operation of three: the others build up the tasks and balances.
        inject = one_in(data, 3, "inject a fault?")
        fault = data.draw(st.sampled_from(harness.fault_points), label="fault") if inject else None
        await example.perform(operation, fault)

    # Every wallet and task against its postings, and no posting on an account of neither.
    assert await harness.books.violations() == []
