"""End-to-end tests of `keel tasks`: the task board, its bounties and its refusals."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.e2e.support import REFUSED, USAGE_ERROR, Keel, Seeded, assert_refused

ABSENT = "00000000-0000-4000-8000-000000000000"
"""A well-formed id that no user or task has."""

# letter, title, creator, parent, dependencies, bounty
BOARD = [
    ("A", "Design the API", "alice", None, "", "10"),
    ("B", "Write the docs", "alice", "A", "", None),
    ("C", "Review the docs", "alice", "A", "B", "5"),
    ("D", "Fix the build", "bob", None, "", None),
    ("E", "Old idea", "alice", None, "", None),
    ("F", "Ship the beta", "alice", None, "", "2.50"),
    ("G", "Deploy the docs", "alice", None, "B", None),
]


@dataclass(frozen=True)
class Board:
    """Seeded users with the tasks of BOARD, moved on as follows.

    A, F and G are assigned to Bob and started; F is done (Bob got its 2.50), D cancelled,
    E deleted; B and C wait as todo. Alice's wallet holds 70.25 - 10 - 5 - 2.50 = 52.75,
    Bob's 30.50 + 2.50 = 33.00.
    """

    keel: Keel
    users: dict[str, str]
    wallets: dict[str, str]
    ids: dict[str, str]
    exported: list[dict[str, Any]]
    """What `keel tasks export` printed once the board was set up."""

    def id(self, letter: str) -> str:
        return self.ids[letter]

    def letters(self, tasks: list[dict[str, Any]]) -> str:
        by_id = {task_id: letter for letter, task_id in self.ids.items()}
        return "".join(by_id[task["id"]] for task in tasks)

    def created_at(self, letter: str) -> str:
        [task] = [task for task in self.exported if task["id"] == self.id(letter)]
        return str(task["created_at"])


@pytest.fixture(scope="module")
def board_original(seeded_original: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Board:
    # About ten CLI calls: built once per module, and each test gets a copy.
    keel = seeded_original.keel.copy_to(tmp_path_factory.mktemp("board") / "keel.db")
    users = {"alice": seeded_original.alice["id"], "bob": seeded_original.bob["id"]}
    ids = {letter: str(uuid4()) for letter, *_ in BOARD}
    rows = [
        {
            "task_id": ids[letter],
            "title": title,
            "creator_id": users[creator],
            "parent_id": parent and ids[parent],
            "dependency_ids": [ids[dependency] for dependency in dependencies],
            "bounty": bounty,
        }
        for letter, title, creator, parent, dependencies, bounty in BOARD
    ]
    keel.ok("tasks", "import", "-", stdin="".join(json.dumps(row) + "\n" for row in rows))
    for letter in "AFG":
        keel.ok("tasks", "assign", ids[letter], "--to", users["bob"])
    keel.ok("tasks", "set-status", "in_progress", ids["A"], ids["F"], ids["G"])
    keel.ok("tasks", "complete", ids["F"])
    keel.ok("tasks", "cancel", ids["D"])
    keel.ok("tasks", "delete", ids["E"])
    exported = [json.loads(line) for line in keel.ok("tasks", "export").splitlines()]
    wallets = {"alice": seeded_original.alice_wallet_id, "bob": seeded_original.bob_wallet_id}
    return Board(keel=keel, users=users, wallets=wallets, ids=ids, exported=exported)


@pytest.fixture
def board(board_original: Board, tmp_path: Path) -> Board:
    return dataclasses.replace(board_original, keel=board_original.keel.copy_to(tmp_path / "k.db"))


def balance(keel: Keel, wallet_id: str) -> str:
    return str(keel.json("wallets", "show", wallet_id)["balance"])


# Funded tasks: the bounty leaves the creator's wallet at creation and lands on completion.


def test_a_funded_task_pays_its_bounty_to_the_assignee_when_done(seeded: Seeded) -> None:
    keel, alice, bob = seeded.keel, seeded.alice["id"], seeded.bob["id"]

    task = keel.json("tasks", "create", "--creator", alice, "--title", "Paint", "--bounty", "12.25")
    assert (task["status"], task["bounty"], task["creator_id"]) == ("todo", "12.25", alice)
    alice_statement = keel.json("wallets", "statement", seeded.alice_wallet_id, "--limit", "1")
    assert alice_statement["balance"] == "58.00"
    [escrow] = alice_statement["lines"]
    assert (escrow["kind"], escrow["amount"]) == ("escrow", "-12.25")

    assert keel.json("tasks", "assign", task["id"], "--to", bob)["assignee_id"] == bob
    assert keel.json("tasks", "start", task["id"])["status"] == "in_progress"
    assert balance(keel, seeded.bob_wallet_id) == "30.50"  # not paid before it is done
    assert keel.json("tasks", "complete", task["id"])["status"] == "done"

    bob_statement = keel.json("wallets", "statement", seeded.bob_wallet_id, "--limit", "1")
    assert bob_statement["balance"] == "42.75"
    [payout] = bob_statement["lines"]
    assert (payout["kind"], payout["amount"]) == ("payout", "12.25")


def test_cancelling_a_funded_task_refunds_its_bounty_to_the_creator(seeded: Seeded) -> None:
    keel, alice = seeded.keel, seeded.alice["id"]
    task = keel.json("tasks", "create", "--creator", alice, "--title", "Paint", "--bounty", "20")

    assert keel.json("tasks", "cancel", task["id"])["status"] == "cancelled"

    statement = keel.json("wallets", "statement", seeded.alice_wallet_id, "--limit", "2")
    assert statement["balance"] == "70.25"
    assert [(line["kind"], line["amount"]) for line in statement["lines"]] == [
        ("refund", "20.00"),
        ("escrow", "-20.00"),
    ]


def test_create_records_the_parent_and_every_dependency(board: Board) -> None:
    task = board.keel.json(
        "tasks",
        "create",
        "--creator",
        board.users["bob"],
        "--title",
        "  Proofread  ",
        "--description",
        "every page\nand the index",
        "--parent",
        board.id("A"),
        "--depends-on",
        board.id("B"),
        "--depends-on",
        board.id("C"),
    )

    assert task["title"] == "Proofread"
    assert task["description"] == "every page\nand the index"
    assert task["parent_id"] == board.id("A")
    assert sorted(task["dependency_ids"]) == sorted([board.id("B"), board.id("C")])
    # SQLite stores the ids as 32 hex digits.
    stored = {
        (UUID(task_id), UUID(depends_on_id))
        for task_id, depends_on_id in board.keel.rows()["task_dependencies"]
    }
    assert {(UUID(task["id"]), UUID(board.id(letter))) for letter in "BC"} <= stored


def test_a_changed_task_is_printed_as_one_line_for_people(board: Board) -> None:
    output = board.keel.ok("tasks", "assign", board.id("B"), "--to", board.users["bob"])

    assert output == (
        f"task {board.id('B')}: Write the docs [todo] bounty 0.00, assignee {board.users['bob']}\n"
    )


# Listing: filters, order, pages and the total.


def listing(*args: str) -> Callable[[Board], list[str]]:
    """`keel tasks list ARGS`, where a single capital letter stands for that task's id."""
    return lambda board: [board.id(arg) if arg in board.ids else arg for arg in args]


LISTINGS = [
    pytest.param(listing(), "ABCDFG", 6, id="everything-but-deleted-oldest-first"),
    pytest.param(listing("--status", "in_progress"), "AG", 2, id="status"),
    pytest.param(listing("--parent", "A"), "BC", 2, id="parent"),
    pytest.param(listing("--top-level"), "ADFG", 4, id="top-level"),
    pytest.param(listing("--title-contains", "DOCS"), "BCG", 3, id="title-in-any-case"),
    pytest.param(listing("--include-deleted"), "ABCDEFG", 7, id="deleted-too"),
    pytest.param(listing("--sort", "title"), "GADCFB", 6, id="by-title"),
    pytest.param(listing("--sort", "updated_at", "--desc", "--limit", "1"), "D", 6, id="newest"),
    pytest.param(listing("--limit", "2", "--offset", "1"), "BC", 6, id="a-page"),
    pytest.param(listing("--offset", "10"), "", 6, id="past-the-end"),
]


@pytest.mark.parametrize(("args", "letters", "total"), LISTINGS)
def test_list_filters_sorts_and_pages_and_counts_every_match(
    board_original: Board, args: Callable[[Board], list[str]], letters: str, total: int
) -> None:
    page = board_original.keel.json("tasks", "list", *args(board_original))

    assert board_original.letters(page["tasks"]) == letters
    assert page["total"] == total


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--assignee", "bob", "--sort", "bounty", "--desc"], id="assignee-by-bounty"),
        pytest.param(["--creator", "bob"], id="creator"),
    ],
)
def test_list_filters_by_the_users_involved(board_original: Board, args: list[str]) -> None:
    resolved = [board_original.users.get(arg, arg) for arg in args]

    page = board_original.keel.json("tasks", "list", *resolved)

    expected = "AFG" if "--assignee" in args else "D"
    assert board_original.letters(page["tasks"]) == expected
    assert page["total"] == len(expected)


@pytest.mark.parametrize(
    "offset", [pytest.param("Z", id="with-an-offset"), pytest.param("", id="read-as-utc")]
)
def test_list_between_two_moments_excludes_both_ends(board_original: Board, offset: str) -> None:
    after = board_original.created_at("A").removesuffix("Z") + offset
    before = board_original.created_at("D").removesuffix("Z") + offset

    page = board_original.keel.json(
        "tasks", "list", "--created-after", after, "--created-before", before
    )

    assert board_original.letters(page["tasks"]) == "BC"


def test_list_for_people_names_the_range_and_one_task_a_line(board_original: Board) -> None:
    header, *lines = board_original.keel.ok("tasks", "list", "--top-level").splitlines()

    assert header == "tasks 1-4 of 4"
    assert [line.split()[:3] for line in lines] == [
        [board_original.id("A"), "in_progress", "10.00"],
        [board_original.id("D"), "cancelled", "0.00"],
        [board_original.id("F"), "done", "2.50"],
        [board_original.id("G"), "in_progress", "0.00"],
    ]
    assert lines[0].endswith("Design the API")


# One task with its relations.


@pytest.mark.parametrize(
    ("letter", "subtasks", "dependencies"),
    [("A", "BC", ""), ("C", "", "B"), ("E", "", "")],
)
def test_show_gives_the_task_its_subtasks_and_its_dependencies(
    board_original: Board, letter: str, subtasks: str, dependencies: str
) -> None:
    details = board_original.keel.json("tasks", "show", board_original.id(letter))

    assert details["task"]["id"] == board_original.id(letter)
    assert (details["task"]["deleted_at"] is not None) == (letter == "E")
    assert board_original.letters(details["subtasks"]) == subtasks
    assert board_original.letters(details["dependencies"]) == dependencies


def test_show_for_people_lists_subtasks_and_dependencies_under_the_task(
    board_original: Board,
) -> None:
    lines = board_original.keel.ok("tasks", "show", board_original.id("C")).splitlines()

    assert lines[0] == (
        f"task {board_original.id('C')}: Review the docs [todo] bounty 5.00, assignee none"
    )
    assert lines[1].endswith(f"; parent {board_original.id('A')}")
    assert lines[2:] == [
        "subtasks: none",
        "depends on: 1",
        f"  {board_original.id('B')}  todo                 0.00  Write the docs",
    ]


# Changes that the board allows.


def test_a_deleted_task_leaves_lists_until_it_is_restored(board: Board) -> None:
    deleted = board.keel.json("tasks", "delete", board.id("B"))
    after_delete = board.keel.json("tasks", "list", "--parent", board.id("A"))
    restored = board.keel.json("tasks", "restore", board.id("B"))
    after_restore = board.keel.json("tasks", "list", "--parent", board.id("A"))

    assert deleted["deleted_at"] is not None
    assert (board.letters(after_delete["tasks"]), after_delete["total"]) == ("C", 1)
    assert restored["deleted_at"] is None
    assert (board.letters(after_restore["tasks"]), after_restore["total"]) == ("BC", 2)


def test_depend_adds_a_dependency_and_refuses_one_that_closes_a_cycle(board: Board) -> None:
    task = board.keel.json("tasks", "depend", board.id("A"), "--on", board.id("G"))
    details = board.keel.json("tasks", "show", board.id("A"))
    before = board.keel.rows()

    # A waits for G, which waits for B: B cannot wait for A.
    cycle = board.keel.run("tasks", "depend", board.id("B"), "--on", board.id("A"))

    assert task["dependency_ids"] == [board.id("G")]
    assert board.letters(details["dependencies"]) == "G"
    assert_refused(cycle, REFUSED, f"task {board.id('B')} would end up depending on itself")
    assert board.keel.rows() == before


def test_set_status_counts_only_the_tasks_it_changed_and_refunds_their_bounties(
    board: Board,
) -> None:
    changed = board.keel.json(
        "tasks", "set-status", "cancelled", board.id("B"), board.id("C"), board.id("D")
    )

    assert changed == {"changed": 2}
    statuses = board.keel.json("tasks", "list", "--parent", board.id("A"))["tasks"]
    assert {task["status"] for task in statuses} == {"cancelled"}
    assert balance(board.keel, board.wallets["alice"]) == "57.75"


def test_set_status_for_people_says_how_many_changed(board: Board) -> None:
    before = board.keel.rows()

    # A is in progress already: it stays as it is.
    output = board.keel.ok("tasks", "set-status", "in_progress", board.id("A"))

    assert output == "changed 0 tasks\n"
    assert board.keel.rows() == before


# Refusals: one `error:` line, status 1, and not one row written.


def task_args(*args: str) -> Callable[[Board], list[str]]:
    """`keel tasks ARGS`; a capital letter is that task's id, alice and bob their users' ids."""
    return lambda board: [
        "tasks",
        *(board.ids.get(arg) or board.users.get(arg) or arg for arg in args),
    ]


def create_by_alice(*args: str) -> Callable[[Board], list[str]]:
    return task_args("create", "--creator", "alice", "--title", "New", *args)


REFUSALS = [
    pytest.param(
        task_args("create", "--creator", ABSENT, "--title", "New"),
        f"user {ABSENT} was not found",
        id="unknown-creator",
    ),
    pytest.param(
        create_by_alice("--bounty", "52.76"),
        "holds 52.75 credits, 52.76 were asked for",
        id="bounty-beyond-the-balance",
    ),
    pytest.param(create_by_alice("--parent", "A1"), "parent_id", id="malformed-parent"),
    pytest.param(
        create_by_alice("--parent", "E"),
        "is deleted and cannot be referred to",
        id="deleted-parent",
    ),
    pytest.param(task_args("start", "B"), "needs an assignee", id="start-unassigned"),
    pytest.param(task_args("complete", "G"), "waits for", id="complete-before-dependency"),
    pytest.param(task_args("cancel", "F"), "is done and cannot be cancelled", id="cancel-done"),
    pytest.param(task_args("delete", "E"), "is already deleted", id="delete-twice"),
    pytest.param(
        task_args("set-status", "done", "A", "G"), "waits for", id="set-status-all-or-nothing"
    ),
    pytest.param(task_args("show", ABSENT), f"task {ABSENT} was not found", id="show-unknown-task"),
    pytest.param(task_args("list", "--limit", "0"), "limit", id="list-limit-zero"),
    pytest.param(
        task_args("list", "--offset", "99999999999999999999"), "offset", id="list-huge-offset"
    ),
    pytest.param(
        task_args("list", "--created-after", "0001-01-01T00:00:00+01:00"),
        "out of range in UTC",
        id="list-before-year-one-in-utc",
    ),
]


@pytest.mark.parametrize(("args", "says"), REFUSALS)
def test_a_refused_task_request_prints_one_error_line_and_writes_nothing(
    board: Board, args: Callable[[Board], list[str]], says: str
) -> None:
    before = board.keel.rows()

    result = board.keel.run(*args(board))

    assert_refused(result, REFUSED, says)
    assert board.keel.rows() == before


@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param(task_args("list", "--parent", "A", "--top-level"), "exclude each other"),
        pytest.param(task_args("list", "--created-after", "yesterday"), "not an ISO 8601"),
        pytest.param(task_args("set-status", "todo", "A"), "'todo' is not one of"),
    ],
)
def test_task_usage_errors_exit_with_status_two_and_write_nothing(
    board: Board, args: Callable[[Board], list[str]], says: str
) -> None:
    before = board.keel.rows()

    result = board.keel.run(*args(board))

    assert result.returncode == USAGE_ERROR
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert board.keel.rows() == before


# Export, as it was once the board was set up.


def test_export_printed_every_task_once_oldest_first_deleted_ones_too(
    board_original: Board,
) -> None:
    exported = board_original.exported

    assert board_original.letters(exported) == "ABCDEFG"
    assert len(exported) == len(board_original.keel.rows()["tasks"])
    created = [datetime.fromisoformat(task["created_at"]) for task in exported]
    assert created == sorted(created)
    assert [task["status"] for task in exported] == [
        "in_progress",
        "todo",
        "todo",
        "cancelled",
        "todo",
        "done",
        "in_progress",
    ]
