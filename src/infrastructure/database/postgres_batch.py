"""A batch of writes as one PostgreSQL statement: one round trip instead of one per write.

Each INSERT or versioned UPDATE of the batch becomes a data-modifying CTE reading its rows
from arrays (`unnest`), so the statement's text depends only on which writes the batch has,
and asyncpg prepares it once. All its parts run in the one statement, and foreign keys are
checked at its end, so a ledger entry and its postings can go together. The statement
returns, for each versioned UPDATE, how many rows it changed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Insert, Update
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ColumnClause
from sqlalchemy.sql.expression import TableClause
from sqlalchemy.types import TypeEngine

_TYPE_MODIFIER = re.compile(r"\(\d+(?:,\s*\d+)?\)")


@dataclass(frozen=True, slots=True)
class UnnestForm:
    """One write as a CTE over arrays, one array per parameter, in the parameters' order."""

    table: str
    array_types: tuple[str, ...]
    """`UUID[]`, `BIGINT[]`... one per parameter."""
    columns: tuple[str, ...]
    """The columns an INSERT fills or an UPDATE sets, from the first parameters on."""
    matched: tuple[str, ...]
    """An UPDATE's key columns, equal to the remaining parameters, in order."""

    # Every name below is one of Keel's own tables and columns, quoted by the dialect; every
    # value travels as a parameter.
    def cte(self, name: str, first_parameter: int) -> str:
        arrays = ", ".join(
            f"${first_parameter + number}::{array_type}"
            for number, array_type in enumerate(self.array_types)
        )
        if not self.matched:
            columns = ", ".join(self.columns)
            into = f"INSERT INTO {self.table} ({columns})"
            return f"{name} AS ({into} SELECT * FROM unnest({arrays}))"  # noqa: S608
        names = [f"p{number}" for number in range(len(self.array_types))]
        setting = ", ".join(
            f"{column} = v.{names[number]}" for number, column in enumerate(self.columns)
        )
        matching = " AND ".join(
            f"{self.table}.{column} = v.{names[len(self.columns) + number]}"
            for number, column in enumerate(self.matched)
        )
        return (
            f"{name} AS (UPDATE {self.table} SET {setting} "  # noqa: S608
            f"FROM unnest({arrays}) AS v({', '.join(names)}) WHERE {matching} RETURNING 1)"
        )


def unnest_form(statement: Insert | Update, compiled: SQLCompiler, dialect: Dialect) -> UnnestForm:
    """The CTE form of a compiled INSERT (of `column_keys`) or of an UPDATE whose WHERE is
    a conjunction of `column = bindparam` comparisons."""
    names = compiled.positiontup or []
    array_types = tuple(_array_type(compiled.binds[name].type, dialect) for name in names)
    table = statement.table
    assert isinstance(table, TableClause)
    quote = dialect.identifier_preparer.quote
    if isinstance(statement, Insert):
        return UnnestForm(quote(table.name), array_types, tuple(map(quote, names)), ())
    matched = tuple(map(quote, _matched_columns(statement)))
    columns = tuple(map(quote, names[: len(names) - len(matched)]))
    return UnnestForm(quote(table.name), array_types, columns, matched)


def _array_type(element_type: TypeEngine[Any], dialect: Dialect) -> str:
    # Without a length: an explicit cast to VARCHAR(16) would cut a longer value short in
    # silence, where the column itself refuses it.
    return _TYPE_MODIFIER.sub("", element_type.compile(dialect=dialect)) + "[]"


def _matched_columns(statement: Update) -> list[str]:
    where = statement.whereclause
    comparisons = getattr(where, "clauses", [where])
    columns = []
    for comparison in comparisons:
        assert isinstance(comparison, BinaryExpression)
        assert isinstance(comparison.left, ColumnClause)
        assert isinstance(comparison.right, BindParameter)
        columns.append(comparison.left.name)
    return columns


def combined(
    forms: Sequence[UnnestForm], rows: Sequence[Sequence[Sequence[Any]]]
) -> tuple[str, list[list[Any]]]:
    """The one statement for writes of these forms, and its parameters (arrays) for `rows`.

    It returns one column per UPDATE: the rows that UPDATE changed.
    """
    parameters = [list(values) for write_rows in rows for values in zip(*write_rows, strict=True)]
    return _statement(tuple(forms)), parameters


@functools.lru_cache(maxsize=256)
def _statement(forms: tuple[UnnestForm, ...]) -> str:
    parts = []
    counted = []
    first_parameter = 1
    for number, form in enumerate(forms):
        parts.append(form.cte(f"w{number}", first_parameter))
        first_parameter += len(form.array_types)
        if form.matched:
            counted.append(f"(SELECT count(*) FROM w{number})")  # noqa: S608
    return f"WITH {', '.join(parts)} SELECT {', '.join(counted) or '0'}"
