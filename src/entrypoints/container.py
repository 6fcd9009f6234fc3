"""The composition root: the one place where Keel's adapters are wired to its use cases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dependency_injector import containers, providers

from application.use_cases import (
    DepositCredits,
    GetWallet,
    GetWalletStatement,
    OpenWallet,
    RegisterUser,
    TransferCredits,
)
from infrastructure.database.engine import create_engine, create_session_factory
from infrastructure.database.unit_of_work import SqlAlchemyUnitOfWork
from infrastructure.settings import KeelSettings


class Container(containers.DeclarativeContainer):
    """Settings, engine, unit of work and use cases.

    Use cases receive `uow.provider`, the factory itself, so that every call opens a fresh
    unit; overriding `uow` (with `InMemoryUnitOfWork`, say) reaches every use case at once.
    """

    settings = providers.Singleton(KeelSettings)
    engine = providers.Resource(create_engine, settings)
    session_factory = providers.Resource(create_session_factory, engine)
    uow = providers.Factory(SqlAlchemyUnitOfWork, session_factory)

    register_user = providers.Factory(RegisterUser, uow_factory=uow.provider)
    open_wallet = providers.Factory(OpenWallet, uow_factory=uow.provider)
    deposit_credits = providers.Factory(DepositCredits, uow_factory=uow.provider)
    transfer_credits = providers.Factory(TransferCredits, uow_factory=uow.provider)
    get_wallet = providers.Factory(GetWallet, uow_factory=uow.provider)
    get_wallet_statement = providers.Factory(GetWalletStatement, uow_factory=uow.provider)


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
