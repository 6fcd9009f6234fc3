"""The unit of work over one SQLAlchemy session and one database transaction."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from application.ports.unit_of_work import AbstractUnitOfWork
from infrastructure.database.engine import unit_execution_options
from infrastructure.database.errors import translate_database_error
from infrastructure.database.repositories import (
    SqlLedgerRepository,
    SqlTaskRepository,
    SqlUserRepository,
    SqlWalletRepository,
)


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    def __init__(
        self, session_factory: Callable[[], AsyncSession], *, read_only: bool = False
    ) -> None:
        super().__init__(read_only=read_only)
        self._session_factory = session_factory

    async def _begin(self) -> None:
        self._session = self._session_factory()
        try:
            # Procure the connection now, so the transaction (and SQLite's write lock) starts
            # when the unit opens and every read inside it belongs to it.
            await self._session.connection(
                execution_options=unit_execution_options(read_only=self.read_only)
            )
        except DBAPIError as error:
            await self._session.close()
            raise translate_database_error(error) or error from error
        self._users = self.users = SqlUserRepository(self._session, read_only=self.read_only)
        self._wallets = self.wallets = SqlWalletRepository(self._session, read_only=self.read_only)
        self._tasks = self.tasks = SqlTaskRepository(self._session, read_only=self.read_only)
        self.ledger = SqlLedgerRepository(self._session)

    async def _commit(self) -> None:
        repositories = (self._users, self._wallets, self._tasks)
        for repository in repositories:
            repository.write_back()
        await self._session.flush()
        for repository in repositories:
            repository.read_versions()
        await self._session.commit()

    async def _rollback(self) -> None:
        await self._session.rollback()

    async def _close(self) -> None:
        await self._session.close()

    def _translate_error(self, error: BaseException) -> Exception | None:
        return translate_database_error(error)
