"""The composition root: the one place where Keel's adapters are wired to its use cases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from dependency_injector import containers, providers

from application.audit import Audited
from application.events.delivery import MessageDelivery
from application.events.relay import OutboxRelay
from application.idempotency import Idempotent
from application.retry import RetryCounter, Retrying, RetryPolicy, RetryRunner
from application.use_cases import (
    AuthenticateUser,
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
from entrypoints.event_handlers import delivery_policy, load_event_handlers
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


def writing(
    use_case: type[Any], uow: providers.Provider[Any], runner: Any
) -> providers.Factory[Any]:
    """As `retried`, and taking an `idempotency_key` that makes a repeated call apply once."""
    operation = _snake_case(use_case.__name__)
    idempotent: providers.Factory[Any] = providers.Factory(
        Idempotent, use_case, uow.provider, operation
    )
    retrying = providers.Factory(Retrying, idempotent, runner)
    return providers.Factory(Audited, retrying, use_case.__name__)


def _snake_case(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


class Container(containers.DeclarativeContainer):
    """Settings, engine, unit of work, retry runner and use cases.

    Use cases receive `uow.provider`, the factory itself, so that every call opens a fresh
    unit; overriding `uow` (with `InMemoryUnitOfWork`, say) reaches every use case at once.
    `retry_counter` tells how many units were run again.
    """

    settings = providers.Singleton(KeelSettings)
    engine = providers.Resource(create_engine, settings)
    session_factory = providers.Resource(create_session_factory, engine)
    event_handlers = providers.Singleton(load_event_handlers, settings)
    delivery_policy = providers.Singleton(delivery_policy, settings)
    uow = providers.Factory(
        SqlAlchemyUnitOfWork,
        session_factory,
        handlers=event_handlers,
        delivery_policy=delivery_policy,
    )

    retry_counter = providers.Singleton(RetryCounter)
    retry_runner = providers.Singleton(
        RetryRunner, providers.Singleton(retry_policy, settings), retry_counter
    )

    # No idempotency key: the result carries an API token, which is never stored in plain.
    register_user = retried(RegisterUser, uow, retry_runner)
    authenticate_user = retried(AuthenticateUser, uow, retry_runner)
    open_wallet = writing(OpenWallet, uow, retry_runner)
    deposit_credits = writing(DepositCredits, uow, retry_runner)
    transfer_credits = writing(TransferCredits, uow, retry_runner)
    get_wallet = retried(GetWallet, uow, retry_runner)
    get_wallet_statement = retried(GetWalletStatement, uow, retry_runner)

    create_task = writing(CreateTask, uow, retry_runner)
    create_tasks = writing(CreateTasks, uow, retry_runner)
    assign_task = writing(AssignTask, uow, retry_runner)
    start_task = writing(StartTask, uow, retry_runner)
    complete_task = writing(CompleteTask, uow, retry_runner)
    cancel_task = writing(CancelTask, uow, retry_runner)
    change_task_statuses = writing(ChangeTaskStatuses, uow, retry_runner)
    delete_task = writing(DeleteTask, uow, retry_runner)
    restore_task = writing(RestoreTask, uow, retry_runner)
    add_dependency = writing(AddDependency, uow, retry_runner)
    get_task = retried(GetTask, uow, retry_runner)
    list_tasks = retried(ListTasks, uow, retry_runner)
    # A stream cannot be re-run once it has started handing out tasks.
    export_tasks = providers.Factory(ExportTasks, uow_factory=uow.provider)

    outbox_relay = providers.Factory(
        OutboxRelay,
        uow.provider,
        providers.Factory(MessageDelivery, uow.provider, event_handlers, delivery_policy),
        delivery_policy,
    )


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
