"""Operating Keel from the shell: health, backups, workspaces, and the audit trail."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from tests.databases import PostgresServer
from tests.e2e.support import DATABASE_NOT_READY, REFUSED, Keel, Seeded, assert_refused

ABSENT = "00000000-0000-4000-8000-000000000000"


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_doctor_reports_a_migrated_database_healthy_with_its_pool(seeded: Seeded) -> None:
    output = seeded.keel.ok("doctor")
    report = json.loads(seeded.keel.ok("doctor", "--json"))

    assert "status:   healthy" in output
    assert "pool:     size 5" in output
    assert (report["healthy"], report["revision"]) == (True, report["head"])
    assert report["pool"]["checked_out"] == 0


def test_doctor_reports_an_unmigrated_database_unhealthy(seeded: Seeded) -> None:
    seeded.keel.ok("db", "downgrade", "base")
    result = seeded.keel.run("doctor")

    assert result.returncode == REFUSED
    assert "UNHEALTHY: at revision None" in result.stdout


def test_doctor_on_a_missing_database_file_asks_for_upgrade_and_creates_nothing(
    keel: Keel,
) -> None:
    assert_refused(keel.run("doctor"), DATABASE_NOT_READY, "run `keel db upgrade`")
    assert not keel.database.exists()


def test_a_backup_restores_the_database_to_the_moment_it_was_taken(
    seeded: Seeded, tmp_path: Path
) -> None:
    keel = seeded.keel
    backup = tmp_path / "saved.db"
    before = keel.rows()
    keel.ok("db", "backup", str(backup))
    keel.ok("users", "register", "--email", "late@example.com", "--username", "late")
    assert keel.rows() != before

    keel.ok("db", "restore", str(backup))

    assert keel.rows() == before


def test_a_backup_never_overwrites_a_file_and_a_restore_needs_one(
    seeded: Seeded, tmp_path: Path
) -> None:
    taken = tmp_path / "taken.db"
    taken.write_text("keep me")
    before = seeded.keel.rows()

    assert_refused(seeded.keel.run("db", "backup", str(taken)), REFUSED, "exists already")
    assert_refused(
        seeded.keel.run("db", "restore", str(tmp_path / "absent.db")), REFUSED, "no database"
    )
    assert taken.read_text() == "keep me"
    assert seeded.keel.rows() == before


def test_workspaces_are_migrated_on_first_use_and_kept_apart(keel: Keel, tmp_path: Path) -> None:
    register = ("users", "register", "--email", "ada@example.com", "--username", "ada")
    first = keel.run("--workspace", str(tmp_path / "one"), *register)
    second = keel.run(*register, KEEL_WORKSPACE=str(tmp_path / "two"))
    again = keel.run("--workspace", str(tmp_path / "one"), *register)

    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert_refused(again, REFUSED, "already")
    assert (tmp_path / "one" / ".keel" / "keel.db").is_file()
    assert (tmp_path / "two" / ".keel" / "keel.db").is_file()
    assert not keel.database.exists()


def test_the_audit_trail_ties_each_command_together_with_one_correlation_id(
    seeded: Seeded,
) -> None:
    keel = seeded.keel
    audit = {"KEEL_LOG_LEVEL": "INFO", "KEEL_LOG_FORMAT": "json"}
    good = keel.run("wallets", "show", seeded.alice_wallet_id, **audit)
    bad = keel.run("wallets", "deposit", ABSENT, "5", **audit)

    succeeded, failed = json_lines(good.stderr), json_lines(bad.stderr)
    assert [r["outcome"] for r in succeeded if r["operation"] == "GetWallet"] == [
        "started",
        "succeeded",
    ]
    assert {r["correlation_id"] for r in succeeded} != {r["correlation_id"] for r in failed}
    assert len({r["correlation_id"] for r in succeeded}) == 1
    assert len({r["correlation_id"] for r in failed}) == 1
    [failure] = [
        r for r in failed if r["operation"] == "DepositCredits" and r["outcome"] == "failed"
    ]
    assert failure["error"] == f"NotFound: wallet {ABSENT} was not found"
    assert failure["ids"] == [ABSENT]
    assert failure["duration_ms"] >= 0
    # The amount is personal input: it is never logged (durations may hold the same digits).
    assert "5.00" not in re.sub(r'"duration_ms": [0-9.]+', "", bad.stderr)


def test_a_database_password_never_appears_in_any_output(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    # The throwaway cluster trusts local connections, so any password is accepted and carried.
    name = asyncio.run(postgres.create_database(migrated=False))
    url = postgres.url_of(name).replace("://keel@", "://keel:s3cret-pw@")
    loud = {"KEEL_DATABASE_URL": url, "KEEL_LOG_LEVEL": "DEBUG", "KEEL_ECHO_SQL": "true"}
    keel = Keel(tmp_path / "unused.db")
    try:
        results = [
            keel.run("db", "upgrade", **loud),
            keel.run("users", "register", "--email", "a@example.com", "--username", "ada", **loud),
            keel.run("wallets", "show", ABSENT, **loud),
            keel.run("doctor", **loud),
            keel.run("db", "current", **loud),
        ]
    finally:
        asyncio.run(postgres.drop_database(name))
    assert [result.returncode for result in results] == [0, 0, REFUSED, 0, 0]
    assert any("SELECT" in result.stdout + result.stderr for result in results)
    for result in results:
        assert "s3cret-pw" not in result.stdout + result.stderr
