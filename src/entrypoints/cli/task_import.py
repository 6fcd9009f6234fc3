"""`keel tasks import`: a JSON lines or CSV file, read row by row, created all or nothing."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePath
from typing import Any, TextIO

import click
import pydantic

from application.errors import BatchItemRefused
from application.use_cases.tasks.creating import (
    CreatedTasks,
    CreateTaskCommand,
    CreateTasksCommand,
)
from entrypoints.cli.errors import InvalidFile, reported_errors, validation_problems
from entrypoints.cli.output import idempotency_key_option, json_option
from entrypoints.cli.runtime import run_request

JSON_LINES = "jsonl"
CSV = "csv"
FORMATS = (JSON_LINES, CSV)
_SUFFIXES = {".jsonl": JSON_LINES, ".ndjson": JSON_LINES, ".csv": CSV}

CSV_COLUMNS = (
    "creator_id",
    "title",
    "description",
    "parent_id",
    "dependency_ids",
    "bounty",
    "task_id",
)
_REQUIRED_COLUMNS = ("creator_id", "title")
_ID_SEPARATORS = re.compile(r"[;\s]+")


@dataclass
class TaskRows:
    """The commands of a file in order, and the line each one starts on."""

    commands: list[CreateTaskCommand] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


@click.command(
    "import",
    help="Create every task in FILE, all or nothing. FILE is JSON lines (.jsonl, .ndjson), one "
    "object a line, or CSV (.csv) with a header naming some of the columns creator_id, title, "
    "description, parent_id, dependency_ids (separated by spaces or semicolons), bounty and "
    "task_id; empty cells and nulls are absent. '-' reads JSON lines from standard input. "
    "Rows may refer to the task_id of earlier rows. A bad row is reported by its line number "
    "and nothing is written.",
    short_help="Create every task in FILE, all or nothing.",
)
@click.argument(
    "path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, allow_dash=True)
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(FORMATS),
    help="The file's format, when its name does not tell.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar on stderr [default: when stderr is a terminal].",
)
@json_option
@idempotency_key_option
@reported_errors
def import_tasks(
    path: str,
    file_format: str | None,
    progress: bool | None,
    as_json: bool,
    idempotency_key: str | None,
) -> None:
    file_format = file_format or format_of(path)
    if file_format is None:
        raise click.UsageError(f"cannot tell the format of {path}: name it with --format")
    if path == "-":
        stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
        rows = read_rows(stdin, file_format)
    else:
        # utf-8-sig: spreadsheets often start a CSV file with a byte order mark. newline="":
        # the csv module reads line ends itself, inside quoted cells too.
        with open(path, encoding="utf-8-sig", newline="") as stream:
            rows = read_rows(stream, file_format)
    if not rows.commands:
        raise InvalidFile("the file holds no tasks")
    created = _create(rows, sys.stderr.isatty() if progress is None else progress, idempotency_key)
    noun = "task" if created.count == 1 else "tasks"
    click.echo(
        json.dumps({"count": created.count}) if as_json else f"imported {created.count} {noun}"
    )


def _create(rows: TaskRows, show_progress: bool, idempotency_key: str | None) -> CreatedTasks:
    command = CreateTasksCommand(tasks=rows.commands)
    with click.progressbar(
        length=len(rows.commands),
        label="creating tasks",
        file=sys.stderr,
        hidden=not show_progress,
    ) as bar:

        def advance(done: int) -> None:
            # A retried unit counts from zero again: the bar waits until it catches up.
            bar.update(max(0, done - bar.pos))

        try:
            created: CreatedTasks = run_request(
                lambda container: container.create_tasks()(
                    command, progress=advance, idempotency_key=idempotency_key
                )
            )
        except BatchItemRefused as refused:
            raise InvalidFile(f"line {rows.lines[refused.index]}: {refused.cause}") from None
    return created


def format_of(path: str) -> str | None:
    """The format a file name implies (`-`, standard input, is JSON lines), or None."""
    if path == "-":
        return JSON_LINES
    return _SUFFIXES.get(PurePath(path).suffix.lower())


def read_rows(stream: TextIO, file_format: str) -> TaskRows:
    """Every row of `stream` as a command; `InvalidFile` names the line of the first bad one."""
    rows = _json_lines(stream) if file_format == JSON_LINES else _csv_rows(stream)
    result = TaskRows()
    try:
        for line, fields in rows:
            try:
                command = CreateTaskCommand.model_validate(fields)
            except pydantic.ValidationError as error:
                raise InvalidFile(f"line {line}: {validation_problems(error)}") from None
            result.commands.append(command)
            result.lines.append(line)
    except UnicodeDecodeError as error:
        raise InvalidFile(f"the file is not UTF-8 text: {error.reason}") from None
    return result


def _json_lines(stream: TextIO) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, text in enumerate(stream, 1):
        if not text.strip():
            continue
        try:
            # Decimal, not float: a bounty such as 12.30 must stay exact.
            fields = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as error:
            raise InvalidFile(
                f"line {number}: not valid JSON: {error.msg} (column {error.colno})"
            ) from None
        if not isinstance(fields, dict):
            raise InvalidFile(f"line {number}: expected a JSON object, got {type(fields).__name__}")
        # null means absent, as an empty cell does in CSV.
        yield number, {name: value for name, value in fields.items() if value is not None}


def _csv_rows(stream: TextIO) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(stream)
    try:
        header = next(reader, None)
        if header is None:
            return
        columns = [name.strip() for name in header]
        _check_header(columns)
        # A quoted cell may span lines: a row is named by the line it starts on.
        start = reader.line_num + 1
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(cells):
                continue
            if len(cells) > len(columns):
                raise InvalidFile(
                    f"line {line}: {len(cells)} cells, but the header names {len(columns)} columns"
                )
            yield line, _csv_fields(columns, cells)
    except csv.Error as error:
        raise InvalidFile(f"line {reader.line_num}: {error}") from None


def _check_header(columns: list[str]) -> None:
    for index, name in enumerate(columns):
        if name not in CSV_COLUMNS:
            raise InvalidFile(
                f"line 1: {name or '(empty)'}: not a column; the columns are "
                + ", ".join(CSV_COLUMNS)
            )
        if name in columns[:index]:
            raise InvalidFile(f"line 1: {name}: named twice")
    for name in _REQUIRED_COLUMNS:
        if name not in columns:
            raise InvalidFile(f"line 1: {name}: missing column")


def _csv_fields(columns: list[str], cells: list[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        name: cell for name, cell in zip(columns, cells, strict=False) if cell != ""
    }
    if "dependency_ids" in fields:
        fields["dependency_ids"] = [
            part for part in _ID_SEPARATORS.split(fields["dependency_ids"]) if part
        ]
    return fields
