"""The pooled connection a unit runs on, and the transaction it begins there.

Opening, committing and closing a session costs more Python than a transfer's statements
do. A unit therefore takes its connection from the pool and begins its transaction itself,
with SQLAlchemy's Core `Connection` (so every engine event still fires); its session is
bound to that connection and joins the transaction only when the unit uses the ORM (users,
tasks, idempotency records...). A unit that only moves credits never opens it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.util import greenlet_spawn

from infrastructure.database.engine import unit_execution_options


class UnitConnection:
    def __init__(self, connection: Connection, transaction: RootTransaction) -> None:
        self.connection = connection
        self.dbapi_connection: Any = connection.connection.dbapi_connection
        self._transaction = transaction

    @classmethod
    async def open(cls, engine: Engine, *, read_only: bool) -> UnitConnection:
        return await greenlet_spawn(cls._open, engine, read_only)

    @classmethod
    def _open(cls, engine: Engine, read_only: bool) -> UnitConnection:
        connection = engine.connect()
        try:
            options = unit_execution_options(read_only=read_only)
            if options:
                connection.execution_options(**options)
            return cls(connection, connection.begin())
        except BaseException:
            connection.close()
            raise

    def bind(self, session: AsyncSession) -> None:
        """Have `session` work inside this unit's transaction, which it never ends itself."""
        session.sync_session.bind = self.connection
        session.sync_session.join_transaction_mode = "rollback_only"

    async def commit(self) -> None:
        await greenlet_spawn(self._transaction.commit)

    async def rollback(self) -> None:
        # A session whose flush failed has rolled the transaction back already.
        if self._transaction.is_active:
            await greenlet_spawn(self._transaction.rollback)

    async def invalidate(self) -> None:
        """Keep the connection from every other unit: its state is unknown."""
        await greenlet_spawn(self.connection.invalidate)

    async def close(self) -> None:
        await greenlet_spawn(self.connection.close)
