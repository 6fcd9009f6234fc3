"""End-to-end tests: the installed `keel` command in a subprocess, on a real SQLite file."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from uuid import UUID

import pytest
from alembic.script import ScriptDirectory

from infrastructure.database.migrations import alembic_config, head_revision
from tests.e2e.support import (
    BAD_CONFIGURATION,
    DATABASE_NOT_READY,
    DATABASE_UNAVAILABLE,
    REFUSED,
    TABLES,
    USAGE_ERROR,
    Keel,
    Seeded,
    assert_refused,
)

ABSENT = "00000000-0000-4000-8000-000000000000"
"""A well-formed id that no user or wallet has."""


@pytest.fixture(scope="module")
def head() -> str:
    revision = head_revision()
    assert revision is not None
    return revision


# The happy path, read from what the CLI printed while seeding and from fresh queries.


def test_registering_prints_the_user_as_json_with_a_lowercased_email(seeded: Seeded) -> None:
    assert seeded.alice["email"] == "alice@example.com"
    assert seeded.alice["username"] == "alice"
    assert seeded.alice["active"] is True
    assert UUID(seeded.alice["id"]) != UUID(seeded.bob["id"])
    stored_emails = {row[1] for row in seeded.keel.rows()["users"]}
    assert stored_emails == {"alice@example.com", "bob@example.com"}


def test_registering_prints_the_api_token_once_and_stores_only_its_hash(seeded: Seeded) -> None:
    printed = seeded.keel.ok("users", "register", "--email", "c@example.com", "--username", "cyd")
    user_line, token_line = printed.splitlines()

    token = token_line.removeprefix("api token (shown only now): ")
    assert user_line.endswith(": cyd <c@example.com>")
    assert len(token) >= 43
    assert token != seeded.alice["api_token"]
    stored_hashes = {row[-1] for row in seeded.keel.rows()["users"]}
    assert hashlib.sha256(token.encode()).hexdigest() in stored_hashes
    assert token not in {value for row in seeded.keel.rows()["users"] for value in row}


def test_a_new_wallet_belongs_to_its_owner_and_is_empty(seeded: Seeded) -> None:
    assert seeded.alice_wallet["owner_id"] == seeded.alice["id"]
    assert seeded.bob_wallet["owner_id"] == seeded.bob["id"]
    assert seeded.alice_wallet["balance"] == "0.00"


def test_deposits_and_transfers_report_balances_as_exact_decimal_strings(seeded: Seeded) -> None:
    assert seeded.first_deposit["balance"] == "100.00"
    assert seeded.transfer["amount"] == "30.50"
    assert seeded.transfer["source_balance"] == "69.50"
    assert seeded.transfer["target_balance"] == "30.50"
    assert seeded.second_deposit["balance"] == "70.25"


def test_show_prints_the_balance_as_json_and_as_a_line_for_people(seeded: Seeded) -> None:
    alice_wallet = seeded.keel.json("wallets", "show", seeded.alice_wallet_id)
    bob_line = seeded.keel.ok("wallets", "show", seeded.bob_wallet_id)

    assert alice_wallet["id"] == seeded.alice_wallet_id
    assert alice_wallet["owner_id"] == seeded.alice["id"]
    assert alice_wallet["balance"] == "70.25"
    assert bob_line.strip() == (
        f"wallet {seeded.bob_wallet_id} of user {seeded.bob['id']}: balance 30.50"
    )


def test_statement_lists_postings_newest_first_with_the_total(seeded: Seeded) -> None:
    statement = seeded.keel.json("wallets", "statement", seeded.alice_wallet_id)

    assert statement["wallet_id"] == seeded.alice_wallet_id
    assert statement["balance"] == "70.25"
    assert statement["total"] == 3
    lines = statement["lines"]
    assert [(line["kind"], line["amount"]) for line in lines] == [
        ("deposit", "0.75"),
        ("transfer", "-30.50"),
        ("deposit", "100.00"),
    ]
    assert lines[1]["entry_id"] == seeded.transfer["entry_id"]
    created = [datetime.fromisoformat(line["created_at"]) for line in lines]
    assert created == sorted(created, reverse=True)


def test_a_transfer_shows_on_the_target_statement_as_the_same_entry(seeded: Seeded) -> None:
    statement = seeded.keel.json("wallets", "statement", seeded.bob_wallet_id)

    assert statement["total"] == 1
    [line] = statement["lines"]
    assert (line["kind"], line["amount"]) == ("transfer", "30.50")
    assert line["entry_id"] == seeded.transfer["entry_id"]


@pytest.mark.parametrize(
    ("limit", "offset", "amounts"),
    [
        pytest.param("1", "1", ["-30.50"], id="middle"),
        pytest.param("2", "2", ["100.00"], id="last-page-short"),
        pytest.param("5", "3", [], id="past-the-end"),
    ],
)
def test_statement_pages_by_limit_and_offset_and_still_counts_every_posting(
    seeded: Seeded, limit: str, offset: str, amounts: list[str]
) -> None:
    statement = seeded.keel.json(
        "wallets", "statement", seeded.alice_wallet_id, "--limit", limit, "--offset", offset
    )

    assert [line["amount"] for line in statement["lines"]] == amounts
    assert (statement["total"], statement["limit"], statement["offset"]) == (
        3,
        int(limit),
        int(offset),
    )


def test_statement_for_people_names_the_range_and_signs_each_amount(seeded: Seeded) -> None:
    header, *lines = seeded.keel.ok("wallets", "statement", seeded.alice_wallet_id).splitlines()

    assert header == (
        f"wallet {seeded.alice_wallet_id}: balance 70.25; postings 1-3 of 3, newest first"
    )
    assert [line.split()[2:4] for line in lines] == [
        ["deposit", "+0.75"],
        ["transfer", "-30.50"],
        ["deposit", "+100.00"],
    ]
    assert lines[1].split()[-1] == seeded.transfer["entry_id"]


def test_every_entry_the_cli_wrote_balances_to_zero(seeded: Seeded) -> None:
    rows = seeded.keel.rows()
    sums: dict[object, int] = {}
    for _id, entry_id, _account, delta in rows["ledger_postings"]:
        sums[entry_id] = sums.get(entry_id, 0) + delta

    assert len(sums) == len(rows["ledger_entries"]) == 3
    assert set(sums.values()) == {0}


# Bad input: one `error:` line, a non-zero status, and not one row written.


def deposit_into_alice(amount: str) -> Callable[[Seeded], list[str]]:
    # `--` so that click takes an amount such as -5 as a value rather than an option.
    return lambda s: ["wallets", "deposit", s.alice_wallet_id, "--", amount]


def alice_transfers(amount: str) -> Callable[[Seeded], list[str]]:
    return lambda s: [
        "wallets",
        "transfer",
        "--from",
        s.alice_wallet_id,
        "--to",
        s.bob_wallet_id,
        "--",
        amount,
    ]


REFUSALS = [
    pytest.param(deposit_into_alice("-5"), "-5 is negative", id="negative-deposit"),
    pytest.param(deposit_into_alice("0"), "greater than zero", id="zero-deposit"),
    pytest.param(deposit_into_alice("NaN"), "not a finite amount", id="nan-deposit"),
    pytest.param(deposit_into_alice("Infinity"), "not a finite amount", id="infinite-deposit"),
    pytest.param(deposit_into_alice("ten"), "'ten' is not a number", id="non-numeric-deposit"),
    pytest.param(deposit_into_alice("1.005"), "more than 2 decimal places", id="over-precise"),
    pytest.param(deposit_into_alice("1e30"), "exceeds the maximum", id="huge-deposit"),
    pytest.param(alice_transfers("-5"), "-5 is negative", id="negative-transfer"),
    pytest.param(alice_transfers("0.001"), "more than 2 decimal places", id="over-precise-move"),
    pytest.param(
        lambda s: ["wallets", "deposit", "not-a-uuid", "5"], "wallet_id", id="malformed-wallet"
    ),
    pytest.param(
        lambda s: ["wallets", "transfer", "--from", s.alice_wallet_id, "--to", "42", "5"],
        "target_wallet_id",
        id="malformed-target",
    ),
    pytest.param(lambda s: ["wallets", "open", "alice"], "owner_id", id="malformed-owner"),
    pytest.param(
        lambda s: ["wallets", "deposit", ABSENT, "5"],
        f"wallet {ABSENT} was not found",
        id="unknown-wallet",
    ),
    pytest.param(
        lambda s: ["wallets", "transfer", "--from", s.alice_wallet_id, "--to", ABSENT, "5"],
        f"wallet {ABSENT} was not found",
        id="unknown-target-leaves-source-alone",
    ),
    pytest.param(
        lambda s: ["wallets", "statement", ABSENT],
        f"wallet {ABSENT} was not found",
        id="unknown-statement",
    ),
    pytest.param(
        lambda s: ["wallets", "open", ABSENT], f"user {ABSENT} was not found", id="unknown-owner"
    ),
    pytest.param(
        lambda s: ["users", "register", "--email", "alice@example.com", "--username", "alice2"],
        "a user with this email is already registered",
        id="duplicate-email-in-other-case",
    ),
    pytest.param(
        lambda s: ["users", "register", "--email", "carol@example.com", "--username", "Alice"],
        "this username is already taken",
        id="duplicate-username",
    ),
    pytest.param(
        lambda s: ["users", "register", "--email", "carol", "--username", "carol"],
        "not a valid email address",
        id="malformed-email",
    ),
    pytest.param(
        lambda s: ["wallets", "open", s.alice["id"]],
        "this user already has a wallet",
        id="second-wallet",
    ),
    pytest.param(
        lambda s: [
            "wallets",
            "transfer",
            "--from",
            s.alice_wallet_id,
            "--to",
            s.alice_wallet_id,
            "5",
        ],
        "cannot transfer credits to itself",
        id="transfer-to-same-wallet",
    ),
    pytest.param(
        alice_transfers("70.26"), "holds 70.25 credits, 70.26 were asked for", id="overdraft"
    ),
    pytest.param(
        lambda s: ["wallets", "statement", s.alice_wallet_id, "--limit", "0"],
        "limit",
        id="statement-limit-zero",
    ),
    pytest.param(
        lambda s: ["wallets", "statement", s.alice_wallet_id, "--offset", "-1"],
        "offset",
        id="statement-negative-offset",
    ),
]


@pytest.mark.parametrize(("args", "says"), REFUSALS)
def test_bad_input_is_refused_with_one_error_line_and_writes_nothing(
    seeded: Seeded, args: Callable[[Seeded], list[str]], says: str
) -> None:
    before = seeded.keel.rows()

    result = seeded.keel.run(*args(seeded))

    assert_refused(result, REFUSED, says)
    assert seeded.keel.rows() == before


@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param(lambda s: ["wallets", "deposit", s.alice_wallet_id], "Missing argument"),
        # Without `--`, click reads -5 as an unknown option rather than an amount.
        pytest.param(lambda s: ["wallets", "deposit", s.alice_wallet_id, "-5"], "No such option"),
        pytest.param(
            lambda s: ["wallets", "statement", s.alice_wallet_id, "--limit", "ten"],
            "not a valid integer",
        ),
    ],
)
def test_usage_errors_exit_with_status_two_and_write_nothing(
    seeded: Seeded, args: Callable[[Seeded], list[str]], says: str
) -> None:
    before = seeded.keel.rows()

    result = seeded.keel.run(*args(seeded))

    assert result.returncode == USAGE_ERROR
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert seeded.keel.rows() == before


# A database that is missing or behind.


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            ["users", "register", "--email", "a@b.example", "--username", "abc"], id="write"
        ),
        pytest.param(["wallets", "statement", ABSENT], id="read"),
    ],
)
def test_a_use_case_on_a_missing_database_file_asks_for_upgrade_and_creates_nothing(
    keel: Keel, args: list[str]
) -> None:
    result = keel.run(*args)

    assert_refused(result, DATABASE_NOT_READY, "run `keel db upgrade`")
    assert "does not exist" in result.stderr
    assert list(keel.database.parent.iterdir()) == []


def test_db_current_reports_the_current_and_the_newest_revision(seeded: Seeded, head: str) -> None:
    assert seeded.keel.ok("db", "current").strip() == f"current: {head}  head: {head}"


def test_a_downgraded_database_asks_for_upgrade_until_it_is_upgraded_again(
    keel: Keel, head: str
) -> None:
    register = ["users", "register", "--email", "dora@example.com", "--username", "dora"]
    assert keel.ok("db", "upgrade").strip().endswith(f"is at revision {head}")
    assert keel.ok("db", "downgrade", "base").strip().endswith("is at revision base")
    assert keel.ok("db", "current").strip() == f"current: none  head: {head}"
    assert keel.tables().isdisjoint(TABLES)

    refused = keel.run(*register)

    assert_refused(refused, DATABASE_NOT_READY, "run `keel db upgrade`")
    assert f"is at revision none, Keel needs {head}" in refused.stderr
    assert keel.tables().isdisjoint(TABLES)
    assert keel.ok("db", "upgrade").strip().endswith(f"is at revision {head}")
    assert keel.json(*register)["username"] == "dora"


def assert_reported_without_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert result.stdout == ""
    assert result.returncode != 0


def test_db_upgrade_of_a_file_in_a_missing_directory_reports_one_error_line(
    tmp_path: Path,
) -> None:
    database = tmp_path / "missing" / "keel.db"

    result = Keel(database).run("db", "upgrade")

    assert_refused(result, BAD_CONFIGURATION, "does not exist")
    assert not database.parent.exists()


def test_db_current_on_a_missing_database_file_says_so_and_creates_no_file(
    keel: Keel, head: str
) -> None:
    output = keel.ok("db", "current")

    assert output.startswith("current: none")
    assert output.strip().endswith(f"head: {head}")
    assert not keel.database.exists()


def test_db_upgrade_to_an_unknown_revision_reports_one_error_line(seeded: Seeded) -> None:
    result = seeded.keel.run("db", "upgrade", "no-such-revision")

    assert_reported_without_traceback(result)


def test_db_downgrade_minus_one_undoes_one_step_as_its_help_says(seeded: Seeded, head: str) -> None:
    result = seeded.keel.run("db", "downgrade", "-1")

    before_head = ScriptDirectory.from_config(alembic_config()).get_revision(head)
    assert before_head is not None
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"is at revision {before_head.down_revision or 'base'}")


def test_db_downgrade_of_a_missing_database_file_refuses_and_creates_no_file(keel: Keel) -> None:
    result = keel.run("db", "downgrade", "base")

    assert_refused(result, DATABASE_NOT_READY, "does not exist")
    assert not keel.database.exists()


def test_a_file_that_is_not_a_database_is_reported_as_unavailable(keel: Keel) -> None:
    keel.database.write_text("a shopping list, not a database\n" * 100)
    before = keel.database.read_bytes()

    result = keel.run("db", "upgrade")

    assert_refused(result, DATABASE_UNAVAILABLE, "file is not a database")
    assert keel.database.read_bytes() == before


def test_an_unreachable_server_is_reported_without_its_password(keel: Keel) -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    url = "postgresql://keel:hunter2@127.0.0.1:1/keel"
    result = keel.run("wallets", "show", ABSENT, KEEL_DATABASE_URL=url)

    assert_refused(result, DATABASE_UNAVAILABLE, "cannot reach the database")
    assert "hunter2" not in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("KEEL_POOL_SIZE", "many", "KEEL_POOL_SIZE"),
        ("KEEL_SQLITE_SYNCHRONOUS", "SOMETIMES", "KEEL_SQLITE_SYNCHRONOUS"),
        ("KEEL_DATABASE_URL", "mysql://db/keel", "unsupported database URL scheme"),
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(
    keel: Keel, variable: str, value: str, says: str
) -> None:
    result = keel.run("db", "upgrade", **{variable: value})

    assert_refused(result, BAD_CONFIGURATION, says)
    assert not keel.database.exists()
