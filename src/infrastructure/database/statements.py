"""Keel's hot-path statements, compiled once per dialect and run on the unit's connection.

A statement through the ORM (or even Core) costs tens of microseconds of Python before it
reaches the driver: cache keys, compilation lookup, parameter processing, result wrapping.
The unit's own reads and writes of wallets, ledger and outbox are few and fixed, so they are
compiled once here, with SQLAlchemy's types still converting every value (UUIDs, amounts in
hundredths, UTC timestamps), and then run by a `StatementChannel` straight on the driver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Insert, Update
from sqlalchemy.sql import ClauseElement, Select
from sqlalchemy.sql.compiler import SQLCompiler

from infrastructure.database.postgres_batch import UnnestForm, unnest_form

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """One SQL string in the driver's parameter style, with its value converters."""

    sql: str
    parameter_names: tuple[str, ...]
    bind_processors: tuple[Processor | None, ...]
    result_processors: tuple[Processor | None, ...]
    unnest: UnnestForm | None = None
    """On PostgreSQL, the write as part of a batch sent as one statement."""

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """`values` by name, in the order of the statement's parameters, converted."""
        return tuple(
            values[name] if process is None else process(values[name])
            for name, process in zip(self.parameter_names, self.bind_processors, strict=True)
        )

    def row(self, stored: Sequence[Any]) -> tuple[Any, ...]:
        """A row as the driver returned it, converted to Python values."""
        return tuple(
            value if process is None else process(value)
            for process, value in zip(self.result_processors, stored, strict=True)
        )


def compile_statement(
    statement: ClauseElement, dialect: Dialect, column_keys: Sequence[str] | None = None
) -> DriverStatement:
    """Compile `statement`; its parameters come in the order they appear in the SQL.

    `column_keys` names the columns an INSERT or UPDATE sets (each a parameter named after
    its column); other parameters are the statement's own `bindparam`s.
    """
    compiled = statement.compile(
        dialect=dialect,
        column_keys=list(column_keys) if column_keys is not None else None,
        # No RETURNING of generated keys: Keel never reads them back.
        for_executemany=column_keys is not None,
    )
    assert isinstance(compiled, SQLCompiler)
    names = compiled.positiontup or []
    binds = tuple(
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    results: tuple[Processor | None, ...] = ()
    if isinstance(statement, Select):
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        )
    unnest = None
    if dialect.name == "postgresql" and isinstance(statement, Insert | Update):
        unnest = unnest_form(statement, compiled, dialect)
    return DriverStatement(compiled.string, tuple(names), binds, results, unnest)
