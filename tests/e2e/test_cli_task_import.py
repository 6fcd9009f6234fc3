"""End-to-end tests of `keel tasks import` and `keel tasks export` on real files."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from tests.e2e.support import KEEL, REFUSED, USAGE_ERROR, Keel, Seeded, assert_refused

ABSENT = "00000000-0000-4000-8000-000000000000"
"""A well-formed id that no user or task has."""

# Spelled out rather than imported: files written for Keel depend on these names.
CSV_COLUMNS = (
    "creator_id",
    "title",
    "description",
    "parent_id",
    "dependency_ids",
    "bounty",
    "task_id",
)

BAD, BAD_LATER = 112, 581
"""Where tests put a bad row: rows whose description spans two lines (see task_rows)."""

Row = dict[str, Any]
Line = Row | str
"""A row to write as the format has it, or a line of text to write as it is."""


def task_rows(creator_id: str, count: int) -> list[Row]:
    """`count` rows; later rows name earlier ones as their parent or their dependencies."""
    ids = [str(uuid4()) for _ in range(count)]
    rows: list[Row] = []
    for index, task_id in enumerate(ids):
        row: Row = {"task_id": task_id, "creator_id": creator_id, "title": f"Task {index}"}
        if index % 3 == 1:
            row["parent_id"] = ids[index - 1]
        if index % 5 == 4:
            row["dependency_ids"] = [ids[index - 4], ids[index - 2]]
        if index % 50 == 0:
            row["bounty"] = "0.10"
        if index % 7 == 0:
            # A comma, quotes and a line break: CSV must quote this cell across two lines.
            row["description"] = f'first line, "quoted"\nsecond line of {index}'
        rows.append(row)
    return rows


def json_lines(lines: Sequence[Line]) -> tuple[str, list[int]]:
    """The text of a JSON lines file, and the line each row starts on.

    A blank line follows every hundredth row, so that line numbers and positions part ways.
    """
    out: list[str] = []
    starts: list[int] = []
    for index, line in enumerate(lines):
        starts.append(len(out) + 1)
        out.append(line if isinstance(line, str) else json.dumps(line))
        if index % 100 == 99:
            out.append("")
    return "".join(f"{text}\n" for text in out), starts


def csv_file(lines: Sequence[Line]) -> tuple[str, list[int]]:
    """The text of a CSV file with a header, and the line each row starts on."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    starts: list[int] = []
    for index, line in enumerate(lines):
        starts.append(out.getvalue().count("\n") + 1)
        if isinstance(line, str):
            out.write(f"{line}\r\n")
            continue
        # Both separators that the format allows, in turn.
        separator = "; " if index % 2 else " "
        writer.writerow(
            separator.join(line.get(name, [])) if name == "dependency_ids" else line.get(name, "")
            for name in CSV_COLUMNS
        )
    return out.getvalue(), starts


def write(directory: Path, file_format: str, lines: Sequence[Line]) -> tuple[Path, list[int]]:
    text, starts = (json_lines if file_format == "jsonl" else csv_file)(lines)
    path = directory / f"tasks.{file_format}"
    path.write_text(text, encoding="utf-8", newline="")
    return path, starts


def exported(keel: Keel) -> list[Row]:
    """What `keel tasks export` prints, every line parsed as JSON."""
    return [json.loads(line) for line in keel.ok("tasks", "export").splitlines()]


# Files that import.


@pytest.mark.parametrize("source", ["jsonl", "csv", "stdin"])
def test_import_creates_every_row_with_its_relations_and_escrows_the_bounties(
    seeded: Seeded, tmp_path: Path, source: str
) -> None:
    rows = task_rows(seeded.alice["id"], 300)
    path, _ = write(tmp_path, "csv" if source == "csv" else "jsonl", rows)
    args = ["-"] if source == "stdin" else [str(path)]
    stdin = path.read_text() if source == "stdin" else None

    output = seeded.keel.ok("tasks", "import", *args, "--json", stdin=stdin)

    assert json.loads(output) == {"count": 300}
    tasks = exported(seeded.keel)
    assert len(tasks) == len(seeded.keel.rows()["tasks"]) == 300
    assert [task["id"] for task in tasks] == [row["task_id"] for row in rows]
    for task, row in zip(tasks, rows, strict=True):
        assert task["title"] == row["title"]
        assert task["description"] == row.get("description", "")
        assert task["parent_id"] == row.get("parent_id")
        assert sorted(task["dependency_ids"]) == sorted(row.get("dependency_ids", []))
        assert Decimal(task["bounty"]) == Decimal(row.get("bounty", "0"))
    wallet = seeded.keel.json("wallets", "show", seeded.alice_wallet_id)
    assert wallet["balance"] == "69.65"  # 70.25, less six bounties of 0.10


def test_import_names_a_file_of_any_name_by_format_and_shows_progress_when_asked(
    seeded: Seeded, tmp_path: Path
) -> None:
    text, _ = csv_file(task_rows(seeded.alice["id"], 3))
    path = tmp_path / "tasks.txt"
    path.write_text(text, encoding="utf-8", newline="")

    result = seeded.keel.run("tasks", "import", str(path), "--format", "csv", "--progress")

    assert result.returncode == 0, result.stderr
    assert result.stdout == "imported 3 tasks\n"
    assert "creating tasks" in result.stderr
    assert len(seeded.keel.rows()["tasks"]) == 3


def test_export_stops_quietly_when_its_reader_leaves(seeded: Seeded, tmp_path: Path) -> None:
    # Enough tasks to fill the pipe, so that a write fails once the reader has left.
    path, _ = write(tmp_path, "jsonl", task_rows(seeded.alice["id"], 400))
    seeded.keel.ok("tasks", "import", str(path))

    with subprocess.Popen(
        [str(KEEL), "tasks", "export"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=seeded.keel.environment(),
    ) as export:
        assert export.stdout is not None
        assert export.stderr is not None
        first = json.loads(export.stdout.readline())
        export.stdout.close()
        stderr = export.stderr.read()
        status = export.wait(timeout=60)

    assert "id" in first
    assert status == 141  # 128 + SIGPIPE, as a shell reports a filter that its reader left
    assert stderr == ""


# Files that are refused: one `error:` line naming the line, and not one row written.


def replace(field: str, value: Any) -> Callable[[Row], Line]:
    return lambda row: {**row, field: value}


def without(field: str) -> Callable[[Row], Line]:
    return lambda row: {name: value for name, value in row.items() if name != field}


def text(line: str) -> Callable[[Row], Line]:
    return lambda row: line


INVALID_ROWS = [
    pytest.param(
        "jsonl", replace("bounty", "1.005"), "bounty: 1.005 has more than 2", id="over-precise"
    ),
    pytest.param("jsonl", without("title"), "title: Field required", id="no-title"),
    pytest.param("jsonl", replace("title", " "), "title: a task needs a title", id="blank-title"),
    pytest.param("jsonl", replace("colour", "red"), "colour: Extra inputs", id="unknown-field"),
    pytest.param(
        "jsonl", replace("bounty", 0.1 + 0.2), "bounty: 0.30000000000000004 has", id="inexact"
    ),
    pytest.param("jsonl", replace("dependency_ids", ["7"]), "dependency_ids.0:", id="bad-id"),
    pytest.param("jsonl", text('{"title": "half'), "not valid JSON", id="not-json"),
    pytest.param("jsonl", text("[1, 2]"), "expected a JSON object", id="not-an-object"),
    pytest.param("csv", replace("parent_id", "A1"), "parent_id:", id="csv-bad-parent"),
    pytest.param("csv", without("title"), "title: Field required", id="csv-empty-title"),
    pytest.param("csv", text("a,b,c,d,e,f,g,h"), "8 cells, but the header", id="csv-extra-cell"),
]


@pytest.mark.parametrize(("file_format", "spoil", "says"), INVALID_ROWS)
def test_an_invalid_row_is_named_by_its_line_and_nothing_is_written(
    seeded: Seeded, tmp_path: Path, file_format: str, spoil: Callable[[Row], Line], says: str
) -> None:
    rows = task_rows(seeded.alice["id"], 120)
    lines: list[Line] = list(rows)
    # Past a blank line (JSON lines) or quoted line breaks (CSV), on a row with a line break.
    lines[BAD] = spoil(rows[BAD])
    path, starts = write(tmp_path, file_format, lines)
    before = seeded.keel.rows()

    result = seeded.keel.run("tasks", "import", str(path))

    assert starts[BAD] > BAD + 1
    assert_refused(result, REFUSED, f"error: line {starts[BAD]}: {says}")
    assert seeded.keel.rows() == before


REFUSED_ROWS = [
    pytest.param(
        "jsonl",
        lambda row, rows: {**row, "parent_id": ABSENT},
        f"task {ABSENT} was not found",
        id="unknown-parent",
    ),
    pytest.param(
        "jsonl",
        lambda row, rows: {**row, "bounty": "70.26"},
        "credits, 70.26 were asked for",
        id="bounty-beyond-the-balance",
    ),
    pytest.param(
        "jsonl",
        lambda row, rows: {**row, "task_id": rows[3]["task_id"]},
        "a task with id {task_3} already exists",
        id="repeated-task-id",
    ),
    pytest.param(
        "csv",
        lambda row, rows: {**row, "dependency_ids": [rows[BAD_LATER + 1]["task_id"]]},
        "was not found",
        id="csv-refers-to-a-later-row",
    ),
    pytest.param(
        "csv",
        lambda row, rows: {**row, "creator_id": ABSENT},
        f"user {ABSENT} was not found",
        id="csv-unknown-creator",
    ),
]


@pytest.mark.parametrize(("file_format", "spoil", "says"), REFUSED_ROWS)
def test_a_row_refused_by_a_rule_is_named_by_its_line_and_nothing_is_written(
    seeded: Seeded,
    tmp_path: Path,
    file_format: str,
    spoil: Callable[[Row, list[Row]], Line],
    says: str,
) -> None:
    rows = task_rows(seeded.alice["id"], 620)
    lines: list[Line] = list(rows)
    # Past the first chunk of 500 that the batch creates before the next one.
    lines[BAD_LATER] = spoil(rows[BAD_LATER], rows)
    path, starts = write(tmp_path, file_format, lines)
    before = seeded.keel.rows()

    result = seeded.keel.run("tasks", "import", str(path))

    message = says.format(task_3=rows[3]["task_id"])
    assert_refused(result, REFUSED, f"error: line {starts[BAD_LATER]}: ")
    assert message in result.stderr
    assert seeded.keel.rows() == before


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        pytest.param("tasks.csv", "creator_id,title,colour\n", "line 1: colour: not a", id="col"),
        pytest.param("tasks.csv", "creator_id,bounty\n", "line 1: title: missing", id="no-title"),
        pytest.param("tasks.jsonl", "\n\n", "the file holds no tasks", id="empty"),
    ],
)
def test_a_file_without_usable_rows_is_refused(
    seeded: Seeded, tmp_path: Path, name: str, content: str, says: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    before = seeded.keel.rows()

    result = seeded.keel.run("tasks", "import", str(path))

    assert_refused(result, REFUSED, says)
    assert seeded.keel.rows() == before


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        pytest.param("tasks.txt", "creator_id,title\n", "name it with --format", id="unknown"),
        pytest.param("tasks.csv", None, "does not exist", id="missing"),
    ],
)
def test_a_file_of_unknown_format_or_missing_is_a_usage_error(
    seeded: Seeded, tmp_path: Path, name: str, content: str | None, says: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)

    result = seeded.keel.run("tasks", "import", str(path))

    assert result.returncode == USAGE_ERROR
    assert says in result.stderr
    assert "Traceback" not in result.stderr
