"""The composition root: the one place where Keel's adapters are wired to its use cases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from dependency_injector import containers, providers

from application.audit import Audited
from application.retry import RetryCounter, Retrying, RetryPolicy, RetryRunner
from application.use_cases import (
    DepositCredits,
    GetWallet,
    GetWalletStatement,
    OpenWallet,
    RegisterUser,
    TransferCredits,
)
from application.use_cases.tasks.changing import (
    AddDependency,
    AssignTask,
    CancelTask,
    ChangeTaskStatuses,
    CompleteTask,
    DeleteTask,
    RestoreTask,
    StartTask,
)
from application.use_cases.tasks.creating import CreateTask, CreateTasks
from application.use_cases.tasks.reading import ExportTasks, GetTask, ListTasks
from infrastructure.database.engine import create_engine, create_session_factory
from infrastructure.database.unit_of_work import SqlAlchemyUnitOfWork
from infrastructure.settings import KeelSettings


def retry_policy(settings: KeelSettings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.retry_attempts,
        first_delay_seconds=settings.retry_first_delay_seconds,
        max_delay_seconds=settings.retry_max_delay_seconds,
    )


def retried(
    use_case: type[Any], uow: providers.Provider[Any], runner: Any
) -> providers.Factory[Any]:
    """A use case on fresh units from `uow`, audited, and re-run whole on a transient failure."""
    retrying = providers.Factory(
        Retrying, providers.Factory(use_case, uow_factory=uow.provider), runner
    )
    return providers.Factory(Audited, retrying, use_case.__name__)


class Container(containers.DeclarativeContainer):
    """Settings, engine, unit of work, retry runner and use cases.

    Use cases receive `uow.provider`, the factory itself, so that every call opens a fresh
    unit; overriding `uow` (with `InMemoryUnitOfWork`, say) reaches every use case at once.
    `retry_counter` tells how many units were run again.
    """

    settings = providers.Singleton(KeelSettings)
    engine = providers.Resource(create_engine, settings)
    session_factory = providers.Resource(create_session_factory, engine)
    uow = providers.Factory(SqlAlchemyUnitOfWork, session_factory)

    retry_counter = providers.Singleton(RetryCounter)
    retry_runner = providers.Singleton(
        RetryRunner, providers.Singleton(retry_policy, settings), retry_counter
    )

    register_user = retried(RegisterUser, uow, retry_runner)
    open_wallet = retried(OpenWallet, uow, retry_runner)
    deposit_credits = retried(DepositCredits, uow, retry_runner)
    transfer_credits = retried(TransferCredits, uow, retry_runner)
    get_wallet = retried(GetWallet, uow, retry_runner)
    get_wallet_statement = retried(GetWalletStatement, uow, retry_runner)

    create_task = retried(CreateTask, uow, retry_runner)
    create_tasks = retried(CreateTasks, uow, retry_runner)
    assign_task = retried(AssignTask, uow, retry_runner)
    start_task = retried(StartTask, uow, retry_runner)
    complete_task = retried(CompleteTask, uow, retry_runner)
    cancel_task = retried(CancelTask, uow, retry_runner)
    change_task_statuses = retried(ChangeTaskStatuses, uow, retry_runner)
    delete_task = retried(DeleteTask, uow, retry_runner)
    restore_task = retried(RestoreTask, uow, retry_runner)
    add_dependency = retried(AddDependency, uow, retry_runner)
    get_task = retried(GetTask, uow, retry_runner)
    list_tasks = retried(ListTasks, uow, retry_runner)
    # A stream cannot be re-run once it has started handing out tasks.
    export_tasks = providers.Factory(ExportTasks, uow_factory=uow.provider)


def build_container(settings: KeelSettings | None = None) -> Container:
    """A new container; each has its own providers, so overrides on one never reach another."""
    container = Container()
    if settings is not None:
        container.settings.override(providers.Object(settings))
    return container


@asynccontextmanager
async def running(container: Container) -> AsyncIterator[Container]:
    """Start the container's resources, and dispose of the engine it created when done.

    The engine's disposal is awaited here: a Resource with an async teardown would make every
    provider that depends on it return awaitables, the unit-of-work factory included.
    An engine that a host put in with `container.engine.override(...)` stays the host's.
    """
    container.init_resources()
    try:
        yield container
    finally:
        if container.engine.initialized:
            await container.engine().dispose()
        container.shutdown_resources()
