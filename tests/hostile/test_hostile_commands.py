"""Hostile commands through the application API are refused clearly and write nothing.

Hypothesis draws invalid input for every writing use case (wallet_cases.py, task_cases.py):
malformed or unknown ids, ids of deleted tasks, amounts that are negative, zero, not finite,
too precise, too large, floats or not numbers at all, bad emails, usernames, titles and
descriptions, SQL-looking text, self-transfers, overdrafts, dependency cycles, illegal moves of
tasks, and batches with one bad item. Each is built into its command and run through Keel's
container on a real database. It must be refused with the specific error the case names, and a
full logical dump of the database must be the same afterwards as before.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from dependency_injector import providers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from application.audit import Audited
from application.errors import BatchItemRefused
from application.use_cases import (
    DepositCreditsCommand,
    OpenWalletCommand,
    RegisterUserCommand,
    TransferCreditsCommand,
)
from application.use_cases.tasks.changing import (
    AddDependencyCommand,
    AssignTaskCommand,
    ChangeTaskStatusesCommand,
    TaskCommand,
)
from application.use_cases.tasks.creating import CreateTaskCommand, CreateTasksCommand
from entrypoints.container import Container, build_container, running
from tests.databases import Databases, settings_for
from tests.hostile.cases import Case
from tests.hostile.dumps import Dump, dumping, first_difference
from tests.hostile.task_cases import TASK_COMMANDS
from tests.hostile.wallet_cases import WALLET_COMMANDS
from tests.hostile.world import World, build_world

HOSTILE_COMMANDS = {**WALLET_COMMANDS, **TASK_COMMANDS}
COMMANDS: dict[str, type[BaseModel]] = {
    "register_user": RegisterUserCommand,
    "open_wallet": OpenWalletCommand,
    "deposit_credits": DepositCreditsCommand,
    "transfer_credits": TransferCreditsCommand,
    "create_task": CreateTaskCommand,
    "create_tasks": CreateTasksCommand,
    "assign_task": AssignTaskCommand,
    "start_task": TaskCommand,
    "complete_task": TaskCommand,
    "cancel_task": TaskCommand,
    "delete_task": TaskCommand,
    "restore_task": TaskCommand,
    "add_dependency": AddDependencyCommand,
    "change_task_statuses": ChangeTaskStatusesCommand,
}


@dataclass(frozen=True)
class Target:
    keel: Container
    world: World
    dump: Callable[[], Awaitable[Dump]]


@pytest.fixture
async def target(sql_backend: str, databases: Databases) -> AsyncIterator[Target]:
    """Keel's container on a database holding the world that hostile commands aim at."""
    url = await databases.url(sql_backend)
    async with running(build_container(settings_for(url))) as keel, dumping(url) as dump:
        yield Target(keel, await build_world(keel), dump)


def writing_use_cases() -> set[str]:
    """The container's use cases that take a command; those that only read take a query."""
    writing = set()
    for name, provider in Container.providers.items():
        if isinstance(provider, providers.Factory) and provider.provides is Audited:
            use_case = provider.args[0].args[0].provides  # Audited(Retrying(use case))
            if "command" in inspect.signature(use_case.__call__).parameters:
                writing.add(name)
    return writing


def test_every_writing_use_case_has_hostile_commands() -> None:
    writing = writing_use_cases()
    assert len(writing) >= len(COMMANDS)
    assert writing == set(HOSTILE_COMMANDS) == set(COMMANDS), (
        f"writing use cases without hostile commands: {writing - set(COMMANDS)}"
    )


async def run_command(target: Target, case: Case) -> None:
    command = COMMANDS[case.use_case].model_validate(target.world.resolve(case.payload))
    await getattr(target.keel, case.use_case)()(command)


def assert_specific(error: BaseException, case: Case) -> None:
    """The refusal says what was wrong: the field at fault, or one plain line."""
    if isinstance(error, ValidationError):
        fields = {problem["loc"][0] for problem in error.errors() if problem["loc"]}
        assert case.field in fields, f"the refusal names {fields}, not {case.field}: {error}"
        return
    if isinstance(error, BatchItemRefused):
        causes = tuple(kind for kind in case.refusals if kind is not BatchItemRefused)
        assert error.index == 1, f"the batch blamed item {error.index + 1}, not 2: {error}"
        assert isinstance(error.cause, causes), f"the batch item was refused by {error.cause!r}"
    message = str(error)
    assert message.strip(), f"{type(error).__name__} says nothing"
    assert "\n" not in message, f"the refusal is not one line: {message!r}"


@pytest.mark.parametrize("use_case", sorted(HOSTILE_COMMANDS))
@settings(
    # The world is built once per test function on purpose: no example may change it.
    suppress_health_check=[*settings().suppress_health_check, HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_a_hostile_command_is_refused_and_writes_nothing(
    target: Target, use_case: str, data: st.DataObject
) -> None:
    case = data.draw(HOSTILE_COMMANDS[use_case], label="case")
    before = await target.dump()

    with pytest.raises(case.refusals) as refusal:
        await run_command(target, case)

    assert_specific(refusal.value, case)
    after = await target.dump()
    assert after == before, (
        f"the refused {use_case} changed the database: {first_difference(before, after)}"
    )


def test_an_email_with_a_c1_control_is_refused() -> None:
    with pytest.raises(ValidationError):
        RegisterUserCommand.model_validate({"email": "ada\x9b@example.com", "username": "ada"})
