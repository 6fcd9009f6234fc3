"""The unit of work over one pooled connection and one database transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, AsyncSessionTransaction

from application.events.delivery import DeliveryPolicy
from application.events.handlers import EventHandlers
from application.ports.unit_of_work import AbstractUnitOfWork
from infrastructure.database.channel import StatementChannel
from infrastructure.database.errors import translate_database_error
from infrastructure.database.repositories import (
    SqlIdempotencyRepository,
    SqlLedgerRepository,
    SqlOutboxRepository,
    SqlProcessedMessageRepository,
    SqlTaskRepository,
    SqlUserRepository,
    SqlWalletRepository,
)
from infrastructure.database.unit_connection import UnitConnection


class SqlAlchemyUnitOfWork(AbstractUnitOfWork):
    def __init__(
        self,
        session_factory: Callable[[], AsyncSession],
        *,
        read_only: bool = False,
        handlers: EventHandlers | None = None,
        delivery_policy: DeliveryPolicy | None = None,
    ) -> None:
        super().__init__(read_only=read_only, handlers=handlers, delivery_policy=delivery_policy)
        self._session_factory = session_factory

    def _sibling(self, *, read_only: bool = False) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(
            self._session_factory,
            read_only=read_only,
            handlers=self.handlers,
            delivery_policy=self.delivery_policy,
        )

    async def _begin(self) -> None:
        self._session = self._session_factory()
        engine = cast(AsyncEngine, self._session.bind).sync_engine
        try:
            self._connection = await UnitConnection.open(engine, read_only=self.read_only)
        except DBAPIError as error:
            raise translate_database_error(error) or error from error
        try:
            self._channel = StatementChannel(engine, self._connection.dbapi_connection)
        except BaseException:
            await self._connection.close()
            raise
        # Wallets, ledger and outbox go through the channel; the session, only when the unit
        # uses the ORM, joins the transaction.
        self._connection.bind(self._session)
        self._released = False
        self._users = self.users = SqlUserRepository(self._session, read_only=self.read_only)
        self._wallets = self.wallets = SqlWalletRepository(self._channel, read_only=self.read_only)
        self._tasks = self.tasks = SqlTaskRepository(self._session, read_only=self.read_only)
        self.ledger = SqlLedgerRepository(self._session, self._channel, read_only=self.read_only)
        self.outbox = SqlOutboxRepository(self._session, self._channel)
        self.processed_messages = SqlProcessedMessageRepository(self._session)
        self.idempotency = SqlIdempotencyRepository(self._session)

    async def _commit(self) -> None:
        await self._flush_orm()
        await self._channel.prepare_commit()
        committed = False
        try:
            await self._connection.commit()
            committed = True
        except BaseException:
            # SQLAlchemy leaves a failed COMMIT's rollback to the pool, and the SQLite pool
            # skips that reset: the connection would go back still inside its transaction.
            # Whatever state a failed COMMIT left it in, no other unit gets this connection.
            await self._connection.invalidate()
            raise
        finally:
            self._channel.end_commit(committed=committed)
        for repository in self._repositories():
            repository.read_versions()
        # Back to the pool now rather than when the block ends: the after-commit hooks, the
        # event handlers' units among them, run first and need connections of their own.
        await self._release()

    async def _begin_savepoint(self) -> AsyncSessionTransaction:
        # Everything before the savepoint goes to the database first, so that rolling back
        # to it undoes exactly the inner block. Versions are left for the real commit:
        # one unit, one new version.
        await self._flush()
        savepoint = await self._session.begin_nested()
        # The session sends SAVEPOINT when it next uses the connection; the unit's own
        # statements bypass the session, so it must go now.
        await self._session.connection()
        return savepoint

    async def _release_savepoint(self, savepoint: object) -> None:
        assert isinstance(savepoint, AsyncSessionTransaction)
        await self._flush()
        await savepoint.commit()

    async def _rollback_savepoint(self, savepoint: object) -> None:
        assert isinstance(savepoint, AsyncSessionTransaction)
        # What the inner block queued never reached the database: flushing preceded it.
        self._channel.pending.clear()
        await savepoint.rollback()
        for repository in self._repositories():
            await repository.reload_expired()

    async def _flush(self) -> None:
        await self._flush_orm()
        await self._channel.write_pending()

    async def _flush_orm(self) -> None:
        """Users and tasks through the ORM, then the wallets' writes into the batch (a new
        wallet refers to its owner, so the owner goes first)."""
        self._users.write_back()
        self._tasks.write_back()
        if self._session.new or self._session.dirty or self._session.deleted:
            await self._session.flush()
        self._wallets.queue_writes()

    def _repositories(
        self,
    ) -> tuple[SqlUserRepository, SqlWalletRepository, SqlTaskRepository]:
        return (self._users, self._wallets, self._tasks)

    async def _rollback(self) -> None:
        await self._connection.rollback()

    async def _close(self) -> None:
        await self._release()

    async def _release(self) -> None:
        if self._released:
            return
        self._released = True
        try:
            # A session that never joined the transaction holds nothing to release.
            if self._session.in_transaction():
                await self._session.close()
        finally:
            await self._connection.close()

    def _translate_error(self, error: BaseException) -> Exception | None:
        return translate_database_error(error)
