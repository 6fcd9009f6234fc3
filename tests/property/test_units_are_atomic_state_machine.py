"""A state machine drives Keel's use cases with faults injected and holds storage to a model.

Each step runs one public use case (through `Idempotent`, as the container wraps it, with or
without an idempotency key), repeats a keyed command, or runs use cases inside one unit whose
inner savepoint fails while the outer part commits. A fault drawn per step may hit the unit: at
its k-th SQL statement, after a flush, at COMMIT, or after a COMMIT that succeeded while its
caller heard it failed. The model predicts each outcome; after every step storage is read past
every unit of work and must equal the model and keep the books.
"""

from __future__ import annotations

import abc
import asyncio
import functools
import shutil
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID, uuid4

import pytest
from hypothesis import assume, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from application.idempotency import Idempotent
from application.ports.unit_of_work import AbstractUnitOfWork, UnitOfWorkFactory
from application.use_cases import (
    DepositCredits,
    DepositCreditsCommand,
    OpenWallet,
    OpenWalletCommand,
    RegisteredUser,
    RegisterUser,
    RegisterUserCommand,
    TransferCredits,
    TransferCreditsCommand,
)
from application.use_cases.tasks.changing import (
    AssignTask,
    AssignTaskCommand,
    CancelTask,
    CompleteTask,
    StartTask,
    TaskCommand,
)
from application.use_cases.tasks.creating import CreateTask, CreateTaskCommand
from application.views import WalletView
from domain.errors import Conflict, DomainError, NotFound
from infrastructure.database import migrations
from infrastructure.database.engine import create_engine
from infrastructure.database.records import Record
from infrastructure.in_memory import InMemoryStore
from tests.databases import PostgresServer, in_ci, settings_for
from tests.property.atomicity_model import (
    Applied,
    KeyedRun,
    Model,
    Prediction,
    Refused,
    Replayed,
    ResultCheck,
    broken_invariants,
    predict,
)
from tests.property.backends import from_minor_units
from tests.property.stored_state import SqlReader, StoredState, StoredStateReader, StoreReader
from tests.property.unit_faults import (
    MEMORY_FAULT_KINDS,
    SQL_FAULT_KINDS,
    Fault,
    FaultKind,
    FaultPlan,
    InjectedFailure,
    faulty_sql_units,
    faulty_store_units,
)

STEPS_PER_MACHINE = 20
FOUNDERS_TASK = UUID("f0f0f0f0-0000-4000-8000-000000000001")

UseCase = Callable[[UnitOfWorkFactory], Callable[..., Awaitable[Any]]]
USE_CASES: dict[str, UseCase] = {
    "deposit_credits": DepositCredits,
    "transfer_credits": TransferCredits,
    "create_task": CreateTask,
    "assign_task": AssignTask,
    "start_task": StartTask,
    "complete_task": CompleteTask,
    "cancel_task": CancelTask,
}


# --- Storage for one state machine ------------------------------------------------------------


@dataclass(frozen=True)
class Storage:
    uow_factory: UnitOfWorkFactory
    reader: StoredStateReader
    fault_kinds: tuple[FaultKind, ...]
    close: Callable[[], Coroutine[Any, Any, None]]


class Backend(abc.ABC):
    name: ClassVar[str]

    @abc.abstractmethod
    async def open(self, plan: FaultPlan) -> Storage:
        """Empty storage of this backend whose units fail where `plan` says."""


async def _nothing_to_close() -> None:
    """The fake's store needs no closing."""


class MemoryBackend(Backend):
    name = "memory"

    def __init__(self, fault_kinds: tuple[FaultKind, ...]) -> None:
        assert set(fault_kinds) <= set(MEMORY_FAULT_KINDS), "the fake has no SQL to fail"
        self._fault_kinds = fault_kinds

    async def open(self, plan: FaultPlan) -> Storage:
        store = InMemoryStore()
        return Storage(
            faulty_store_units(store, plan),
            StoreReader(store),
            self._fault_kinds,
            _nothing_to_close,
        )


class SqliteBackend(Backend):
    """A copy of a migrated template file per state machine."""

    name = "sqlite"

    def __init__(self, template: Path, fault_kinds: tuple[FaultKind, ...]) -> None:
        self._template = template
        self._fault_kinds = fault_kinds

    async def open(self, plan: FaultPlan) -> Storage:
        path = self._template.with_name(f"run-{uuid4().hex[:12]}.db")
        await asyncio.to_thread(shutil.copyfile, self._template, path)
        # A writer that found the write lock taken fails fast rather than after Keel's 30 s.
        engine = create_engine(settings_for(f"sqlite:///{path}", sqlite_busy_timeout_seconds=1))

        async def close() -> None:
            await engine.dispose()
            await asyncio.to_thread(_remove_sqlite_files, path)

        return Storage(faulty_sql_units(engine, plan), SqlReader(engine), self._fault_kinds, close)


def _remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class PostgresBackend(Backend):
    """One database per test; each state machine empties its tables first."""

    name = "postgres"

    def __init__(self, url: str, fault_kinds: tuple[FaultKind, ...]) -> None:
        self._url = url
        self._fault_kinds = fault_kinds

    async def open(self, plan: FaultPlan) -> Storage:
        engine = create_engine(settings_for(self._url))
        try:
            await _empty(engine)
        except BaseException:
            await engine.dispose()
            raise
        return Storage(
            faulty_sql_units(engine, plan), SqlReader(engine), self._fault_kinds, engine.dispose
        )


async def _empty(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        for table in reversed(Record.metadata.sorted_tables):
            await connection.execute(table.delete())


# --- Strategies -----------------------------------------------------------------------------

AMOUNTS = st.integers(min_value=1, max_value=150_00).map(from_minor_units)
KEYS = st.none() | st.integers(min_value=0, max_value=10**6).map("key-{}".format)
GHOSTS = st.uuids()
"""Ids that nothing has, for the NotFound refusals (or, rarely, one that something has)."""


def mostly(bundle: Bundle[UUID]) -> st.SearchStrategy[UUID]:
    """An id from `bundle` seven times in eight, else a ghost."""
    return st.one_of(*[bundle] * 7, GHOSTS)


@functools.cache
def _faults(kinds: tuple[FaultKind, ...]) -> st.SearchStrategy[Fault | None]:
    def of_kind(kind: FaultKind) -> st.SearchStrategy[Fault]:
        if kind is FaultKind.AT_STATEMENT:
            # Mostly early statements, which every unit reaches; sometimes deep in a long unit.
            statements = st.one_of(
                st.integers(min_value=1, max_value=4),
                st.integers(min_value=1, max_value=10),
                st.integers(min_value=1, max_value=30),
            )
            return st.builds(Fault, kind=st.just(kind), statement=statements)
        return st.just(Fault(kind))

    # Two steps in three run without a fault, so that the state builds up.
    return st.one_of(st.none(), st.none(), st.sampled_from(kinds).flatmap(of_kind))


FAULTS: st.SearchStrategy[Fault | None] = st.runner().flatmap(
    lambda machine: _faults(machine.storage.fault_kinds)
)


# Named invariants of a step, beside those of storage in `broken_invariants`.
READABLE = "a fresh connection reads the committed state"
UNTOUCHED = "the caller receives the injected failure untouched"
OUTCOME = "the caller sees the outcome the model predicts"
COMMITS_ONLY_WHEN_APPLIED = "only a command the model applies reaches a successful COMMIT"
REPEAT = "a repeated keyed command returns its first result and applies nothing"
LOST_OUTCOME_RETRY = "a retry after a lost COMMIT outcome applies nothing a second time"


def broken(invariant: str, detail: str) -> str:
    return f"invariant {invariant!r} broken: {detail}"


class StateUnreadable(AssertionError):
    """The invariant that comes first: a fresh connection can read what is committed."""


class InnerPartFailed(Exception):
    """Raised by the test inside a savepoint, after its use case did its part."""


def within(uow: AbstractUnitOfWork) -> UnitOfWorkFactory:
    """A factory handing out the open `uow`: a use case given it runs in a savepoint of it."""

    def factory(*, read_only: bool = False) -> AbstractUnitOfWork:
        return uow

    return factory


def _changes(before: StoredState, after: StoredState) -> str:
    return ", ".join(
        name
        for name in ("users", "wallets", "tasks", "postings", "entries", "idempotency_keys")
        if getattr(before, name) != getattr(after, name)
    )


# --- The machine ----------------------------------------------------------------------------


class AtomicityMachine(RuleBasedStateMachine):
    backend: ClassVar[Backend]
    tally: ClassVar[Counter[str]]
    """State machines run, steps taken, outcomes, faults drawn and fired: shown by the test."""

    users = Bundle("users")
    wallets = Bundle("wallets")
    tasks = Bundle("tasks")

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
        self.plan = FaultPlan()
        try:
            self.storage = self.runner.run(self.backend.open(self.plan))
        except BaseException:
            self.runner.close()
            raise
        self.model = Model()
        self.registered = 0
        self.founders: list[tuple[UUID, UUID]] = []
        self.tally["state machines"] += 1

    def teardown(self) -> None:
        try:
            self.runner.run(self.storage.close())
        finally:
            self.runner.close()

    # --- Driving and judging ----------------------------------------------------------------

    def _step(self, name: str) -> None:
        self.tally["steps"] += 1
        self._tally(f"step: {name}")

    def _tally(self, what: str) -> None:
        self.tally[what] += 1
        event(what)

    def _attempt(self, work: Callable[[], Coroutine[Any, Any, Any]], fault: Fault | None) -> Any:
        """What `work` returned, or the exception it raised, with `fault` armed meanwhile."""
        if fault is not None:
            self._tally(f"fault drawn: {fault.kind.name}")
        self.plan.arm(fault)
        try:
            return self.runner.run(work())
        except Exception as error:
            return error
        finally:
            self.plan.disarm()

    def _read(self) -> StoredState:
        return self.runner.run(self.storage.reader.read())

    def _fired(self, what: str, outcome: object) -> InjectedFailure | None:
        """The fault that fired during the step, after checking that its caller saw it."""
        fired = self.plan.fired
        if fired is None:
            return None
        self._tally(f"fault fired: {fired.fault.kind.name}")
        assert outcome is fired, broken(
            UNTOUCHED, f"{what}: the fault raised {fired!r}, the caller saw {outcome!r}"
        )
        return fired

    def perform(
        self, operation: str, command: BaseModel, key: str | None, fault: Fault | None
    ) -> bool:
        """Run one command as the container does and hold the outcome to the model.

        True when the command was applied, even if its caller heard otherwise.
        """
        what = f"{operation}({command!r}, idempotency_key={key!r}) under {fault!r}"
        prediction = predict(self.model, operation, command, key)
        use_case = Idempotent(USE_CASES[operation], self.storage.uow_factory, operation)
        outcome = self._attempt(lambda: use_case(command, idempotency_key=key), fault)
        fired = self._fired(what, outcome)
        if fired is not None:
            if not fired.fault.kind.applies_the_unit:
                return False  # the invariants check that nothing of it is stored
            assert isinstance(prediction, Applied), broken(
                COMMITS_ONLY_WHEN_APPLIED, f"{what}: it committed, the model predicts {prediction}"
            )
            self.model = prediction.after
            if key is not None:
                self._retry_after_lost_outcome(what, use_case, operation, command, key, prediction)
            return True
        self._tally(
            f"outcome: {prediction.error.__name__}"
            if isinstance(prediction, Refused)
            else f"outcome: {type(prediction).__name__}"
        )
        match prediction:
            case Refused(error):
                assert type(outcome) is error, broken(
                    OUTCOME, f"{what}: expected {error.__name__}, got {outcome!r}"
                )
                return False
            case Replayed(result):
                assert outcome == result, broken(
                    REPEAT, f"{what}: returned {outcome!r}, its first run returned {result!r}"
                )
                return False
            case Applied(after, check):
                self._expect_result(what, outcome, check)
                self.model = after
                if key is not None:
                    self.model.keys[key] = KeyedRun(operation, command, outcome)
                return True

    def _expect_result(self, what: str, outcome: object, check: ResultCheck) -> None:
        assert not isinstance(outcome, Exception), broken(
            OUTCOME, f"{what}: expected success, got {outcome!r}"
        )
        problems = check(outcome)
        assert not problems, broken(OUTCOME, f"{what}: {'; '.join(problems)}")

    def _retry_after_lost_outcome(
        self,
        what: str,
        use_case: Idempotent[Any],
        operation: str,
        command: BaseModel,
        key: str,
        prediction: Applied,
    ) -> None:
        """The caller runs the command again with its key: the stored result, nothing applied."""
        before = self._read()
        again = self._attempt(lambda: use_case(command, idempotency_key=key), None)
        after = self._read()
        self._expect_result(f"the retry of {what}", again, prediction.check)
        assert after == before, broken(
            LOST_OUTCOME_RETRY,
            f"the retry of {what} applied it a second time (changed: {_changes(before, after)})",
        )
        self.model.keys[key] = KeyedRun(operation, command, again)

    # --- Founders: two funded users and a task, so that the first steps have work ------------

    def _found(self) -> list[tuple[UUID, UUID]]:
        """Run once by whichever initialize rule comes first; the others take their part."""
        if not self.founders:
            for funding in (Decimal("100.00"), Decimal("40.00")):
                user = self._register(self._fresh_email(), None)
                assert user is not None, "a founder could not register"
                wallet = self._open_wallet(user, None)
                assert wallet is not None, "a founder could not open a wallet"
                command = DepositCreditsCommand(wallet_id=wallet, amount=funding)
                assert self.perform("deposit_credits", command, None, None)
                self.founders.append((user, wallet))
            task = CreateTaskCommand(
                creator_id=self.founders[0][0],
                title="the founders' task",
                bounty=Decimal("10.00"),
                task_id=FOUNDERS_TASK,
            )
            assert self.perform("create_task", task, None, None)
        return self.founders

    @initialize(target=users)
    def founding_users(self) -> MultipleResults[UUID]:
        return multiple(*(user for user, _ in self._found()))

    @initialize(target=wallets)
    def founding_wallets(self) -> MultipleResults[UUID]:
        return multiple(*(wallet for _, wallet in self._found()))

    @initialize(target=tasks)
    def founding_task(self) -> UUID:
        self._found()
        return FOUNDERS_TASK

    # --- Users and wallets ------------------------------------------------------------------

    def _fresh_email(self) -> str:
        self.registered += 1
        return f"user{self.registered}@example.com"

    def _register(self, email: str, fault: Fault | None) -> UUID | None:
        command = RegisterUserCommand(email=email, username=email.split("@")[0])
        what = f"register_user({email}) under {fault!r}"
        taken = email in self.model.users
        outcome = self._attempt(lambda: RegisterUser(self.storage.uow_factory)(command), fault)
        fired = self._fired(what, outcome)
        if fired is not None:
            if fired.fault.kind.applies_the_unit:
                assert not taken, broken(COMMITS_ONLY_WHEN_APPLIED, f"{what}: email taken")
                self.model.users[email] = None  # stored, under an id its caller never heard
            return None
        if taken:
            assert type(outcome) is Conflict, broken(
                OUTCOME, f"{what}: expected Conflict, got {outcome!r}"
            )
            return None
        assert isinstance(outcome, RegisteredUser), broken(OUTCOME, f"{what}: got {outcome!r}")
        assert outcome.email == email, broken(OUTCOME, f"{what}: registered {outcome.email}")
        self.model.users[email] = outcome.id
        return outcome.id

    def _open_wallet(self, owner: UUID, fault: Fault | None) -> UUID | None:
        command = OpenWalletCommand(owner_id=owner)
        what = f"open_wallet({owner}) under {fault!r}"
        refusal: type[DomainError] | None = None
        if owner not in self.model.user_ids:
            refusal = NotFound
        elif owner in self.model.balances:
            refusal = Conflict
        outcome = self._attempt(lambda: OpenWallet(self.storage.uow_factory)(command), fault)
        fired = self._fired(what, outcome)
        if fired is not None:
            if fired.fault.kind.applies_the_unit:
                assert refusal is None, broken(
                    COMMITS_ONLY_WHEN_APPLIED, f"{what}: the model expects {refusal}"
                )
                self.model.balances[owner] = Decimal(0)  # its id unknown to the caller
            return None
        if refusal is not None:
            assert type(outcome) is refusal, broken(
                OUTCOME, f"{what}: expected {refusal.__name__}, got {outcome!r}"
            )
            return None
        assert isinstance(outcome, WalletView), broken(OUTCOME, f"{what}: got {outcome!r}")
        empty = (outcome.owner_id, outcome.balance) == (owner, Decimal(0))
        assert empty, broken(OUTCOME, f"{what}: expected an empty wallet, got {outcome!r}")
        self.model.balances[owner] = Decimal(0)
        self.model.wallet_ids[outcome.id] = owner
        return outcome.id

    @rule(target=users, again=st.none() | st.integers(min_value=0), fault=FAULTS)
    def register_user(self, again: int | None, fault: Fault | None) -> MultipleResults[UUID]:
        """A new user, or (`again`) one whose email and username are taken."""
        self._step("register_user")
        emails = sorted(self.model.users)
        email = emails[again % len(emails)] if again is not None else self._fresh_email()
        user = self._register(email, fault)
        return multiple() if user is None else multiple(user)

    @rule(target=wallets, owner=mostly(users), fault=FAULTS)
    def open_wallet(self, owner: UUID, fault: Fault | None) -> MultipleResults[UUID]:
        self._step("open_wallet")
        wallet = self._open_wallet(owner, fault)
        return multiple() if wallet is None else multiple(wallet)

    # --- Credits ----------------------------------------------------------------------------

    @rule(
        wallet=mostly(wallets),
        amount=AMOUNTS,
        key=KEYS,
        fault=FAULTS,
    )
    def deposit(self, wallet: UUID, amount: Decimal, key: str | None, fault: Fault | None) -> None:
        self._step("deposit_credits")
        command = DepositCreditsCommand(wallet_id=wallet, amount=amount)
        self.perform("deposit_credits", command, key, fault)

    @rule(
        source=mostly(wallets),
        to=mostly(wallets),
        amount=AMOUNTS,
        key=KEYS,
        fault=FAULTS,
    )
    def transfer(
        self, source: UUID, to: UUID, amount: Decimal, key: str | None, fault: Fault | None
    ) -> None:
        self._step("transfer_credits")
        command = TransferCreditsCommand(
            source_wallet_id=source, target_wallet_id=to, amount=amount
        )
        self.perform("transfer_credits", command, key, fault)

    # --- Tasks ------------------------------------------------------------------------------

    @rule(
        target=tasks,
        creator=mostly(users),
        bounty=st.none() | AMOUNTS,
        task_id=st.uuids(),
        key=KEYS,
        fault=FAULTS,
    )
    def create_task(
        self,
        creator: UUID,
        bounty: Decimal | None,
        task_id: UUID,
        key: str | None,
        fault: Fault | None,
    ) -> MultipleResults[UUID]:
        self._step("create_task")
        command = CreateTaskCommand(
            creator_id=creator, title="a task", bounty=bounty, task_id=task_id
        )
        applied = self.perform("create_task", command, key, fault)
        return multiple(task_id) if applied else multiple()

    @precondition(lambda self: bool(self.model.tasks))
    @rule(
        task=mostly(tasks),
        assignee=mostly(users),
        key=KEYS,
        fault=FAULTS,
    )
    def assign_task(self, task: UUID, assignee: UUID, key: str | None, fault: Fault | None) -> None:
        self._step("assign_task")
        command = AssignTaskCommand(task_id=task, assignee_id=assignee)
        self.perform("assign_task", command, key, fault)

    @precondition(lambda self: bool(self.model.tasks))
    @rule(
        operation=st.sampled_from(("start_task", "complete_task", "cancel_task")),
        task=mostly(tasks),
        key=KEYS,
        fault=FAULTS,
    )
    def move_task(self, operation: str, task: UUID, key: str | None, fault: Fault | None) -> None:
        self._step(operation)
        self.perform(operation, TaskCommand(task_id=task), key, fault)

    # --- Idempotency keys -------------------------------------------------------------------

    @precondition(lambda self: bool(self.model.keys))
    @rule(pick=st.integers(min_value=0), fault=FAULTS)
    def repeat_a_keyed_command(self, pick: int, fault: Fault | None) -> None:
        """The same command with the same key: the first run's result, and nothing applied."""
        self._step("repeat a keyed command")
        keys = sorted(self.model.keys)
        key = keys[pick % len(keys)]
        run = self.model.keys[key]
        before = self._read()
        self.perform(run.operation, run.command, key, fault)
        after = self._read()
        assert after == before, broken(
            REPEAT, f"{run.operation} with key {key!r} changed {_changes(before, after)}"
        )

    # --- A savepoint that fails inside a unit that commits ----------------------------------

    @rule(
        wallet=wallets,
        first=AMOUNTS,
        inner=st.sampled_from(("transfer", "bounty")),
        other=mostly(wallets),
        inner_amount=AMOUNTS,
        inner_task=st.uuids(),
        second=AMOUNTS,
        fault=FAULTS,
    )
    def deposit_around_a_failed_savepoint(
        self,
        wallet: UUID,
        first: Decimal,
        inner: str,
        other: UUID,
        inner_amount: Decimal,
        inner_task: UUID,
        second: Decimal,
        fault: Fault | None,
    ) -> None:
        """Deposit; in a savepoint, transfer or fund a task and fail; deposit again; commit.

        Only the two deposits are applied: the savepoint's part is undone in the database and in
        the wallet the outer part holds, which the second deposit goes on from.
        """
        # A duplicate task id is refused at the flush on SQL, at the commit by the fake.
        assume(inner_task not in self.model.tasks)
        self._step("deposit around a failed savepoint")
        owner = self.model.wallet_ids[wallet]
        inner_command: BaseModel = (
            TransferCreditsCommand(
                source_wallet_id=wallet, target_wallet_id=other, amount=inner_amount
            )
            if inner == "transfer"
            else CreateTaskCommand(
                creator_id=owner, title="in a savepoint", bounty=inner_amount, task_id=inner_task
            )
        )
        outer_first = DepositCreditsCommand(wallet_id=wallet, amount=first)
        outer_second = DepositCreditsCommand(wallet_id=wallet, amount=second)
        after_first = predict(self.model, "deposit_credits", outer_first, None)
        assert isinstance(after_first, Applied)
        inner_operation = "transfer_credits" if inner == "transfer" else "create_task"
        inner_prediction = predict(after_first.after, inner_operation, inner_command, None)
        expected_inner = (
            InnerPartFailed if isinstance(inner_prediction, Applied) else _refusal(inner_prediction)
        )
        final = predict(after_first.after, "deposit_credits", outer_second, None)
        assert isinstance(final, Applied)
        uow_factory = self.storage.uow_factory

        async def nested() -> tuple[object, Exception]:
            async with uow_factory() as uow:
                unit = within(uow)
                await DepositCredits(unit)(outer_first)
                try:
                    async with uow:
                        if isinstance(inner_command, TransferCreditsCommand):
                            await TransferCredits(unit)(inner_command)
                        else:
                            assert isinstance(inner_command, CreateTaskCommand)
                            await CreateTask(unit)(inner_command)
                        raise InnerPartFailed
                except (InnerPartFailed, DomainError) as error:
                    inner_error: Exception = error
                result = await DepositCredits(unit)(outer_second)
                await uow.commit()
            return result, inner_error

        what = f"deposits around a failed {inner} in a savepoint under {fault!r}"
        outcome = self._attempt(nested, fault)
        fired = self._fired(what, outcome)
        if fired is not None:
            if fired.fault.kind.applies_the_unit:
                self.model = final.after
            return
        assert isinstance(outcome, tuple), broken(
            OUTCOME, f"{what}: expected success, got {outcome!r}"
        )
        result, inner_error = outcome
        assert type(inner_error) is expected_inner, broken(
            OUTCOME,
            f"{what}: the savepoint's part failed with {inner_error!r}, "
            f"the model expects {expected_inner.__name__}",
        )
        self._expect_result(what, result, final.check)
        self.model = final.after

    # --- After every step -------------------------------------------------------------------

    @invariant()
    def storage_equals_the_model_and_keeps_the_books(self) -> None:
        try:
            stored = self._read()
        except Exception as error:
            raise StateUnreadable(broken(READABLE, repr(error))) from error
        problems = broken_invariants(stored, self.model)
        assert not problems, "\n".join(problems)


def _refusal(prediction: Prediction) -> type[Exception]:
    assert isinstance(prediction, Refused), prediction
    return prediction.error


# --- The test -------------------------------------------------------------------------------


@contextmanager
def backend_for(
    name: str, fault_kinds: tuple[FaultKind, ...], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Backend]:
    if name == "memory":
        yield MemoryBackend(fault_kinds)
        return
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as setup:
        if name == "sqlite":
            template = tmp_path / "template.db"
            setup.run(_migrate(f"sqlite:///{template}"))
            yield SqliteBackend(template, fault_kinds)
            return
        assert name == "postgres", name
        server: PostgresServer = request.getfixturevalue("postgres")
        database = setup.run(server.create_database(migrated=True))
        try:
            yield PostgresBackend(server.url_of(database), fault_kinds)
        finally:
            setup.run(server.drop_database(database))


async def _migrate(url: str) -> None:
    engine = create_engine(settings_for(url))
    try:
        await migrations.upgrade(engine)
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("backend", "fault_kinds"),
    [
        pytest.param("memory", MEMORY_FAULT_KINDS, id="memory"),
        pytest.param("sqlite", SQL_FAULT_KINDS, id="sqlite"),
        pytest.param("postgres", SQL_FAULT_KINDS, id="postgres"),
    ],
)
def test_every_step_applies_whole_or_not_at_all(
    backend: str,
    fault_kinds: tuple[FaultKind, ...],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    started = time.monotonic()
    tally: Counter[str] = Counter()
    with backend_for(backend, fault_kinds, tmp_path, request) as chosen:
        machine = type(
            f"AtomicityOn{backend.capitalize()}",
            (AtomicityMachine,),
            {"backend": chosen, "tally": tally},
        )
        run_state_machine_as_test(machine, settings=settings(stateful_step_count=STEPS_PER_MACHINE))
    # Shown with -s, or with -rA among the captured output of passing tests.
    print(
        f"\n{request.node.callspec.id}: {tally['state machines']} state machines, "
        f"{tally['steps']} steps in {time.monotonic() - started:.1f}s (CI profile: {in_ci()})"
    )
    for kind in ("step", "outcome", "fault drawn", "fault fired"):
        counts = {
            what.removeprefix(f"{kind}: "): n
            for what, n in sorted(tally.items())
            if what.startswith(f"{kind}: ")
        }
        print(f"  {kind}: {counts}")
