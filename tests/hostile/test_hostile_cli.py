"""Hostile arguments to the `keel` CLI: a documented status, one line on stderr, nothing written.

A handful of argument vectors, since each runs a real subprocess; the application API gets the
many generated ones (test_hostile_commands.py). `{ALICE_WALLET}` and the like stand for the ids
of the world's members.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from entrypoints.container import build_container, running
from infrastructure.database import migrations
from tests.databases import settings_for
from tests.e2e.support import REFUSED, USAGE_ERROR, Keel, assert_refused
from tests.hostile.dumps import first_difference, sqlite_dump
from tests.hostile.values import SQL_LOOKING
from tests.hostile.world import Ref, World, build_world

DROP_USERS = SQL_LOOKING[0]

# (arguments, what the one line on stderr must say)
REFUSED_ARGUMENTS = [
    # After "--" a negative amount is an argument, not an option.
    (["wallets", "deposit", "--", "{ALICE_WALLET}", "-5"], "amount: -5 is negative"),
    (["wallets", "deposit", "{ALICE_WALLET}", "NaN"], "amount: NaN is not a finite amount"),
    (["wallets", "deposit", "{ALICE_WALLET}", "0.001"], "more than 2 decimal places"),
    (["wallets", "deposit", "{ALICE_WALLET}", "10000000000000"], "exceeds the maximum"),
    (
        ["wallets", "transfer", "--from", "{ALICE_WALLET}", "--to", "{ALICE_WALLET}", "1"],
        "cannot transfer credits to itself",
    ),
    (
        ["wallets", "transfer", "--from", "{ALICE_WALLET}", "--to", "{BOB_WALLET}", "999999"],
        "were asked for",
    ),
    (
        ["wallets", "transfer", "--from", DROP_USERS, "--to", "{BOB_WALLET}", "1"],
        "source_wallet_id:",
    ),
    (["users", "register", "--email", DROP_USERS, "--username", "x1y"], "not a valid email"),
    (
        ["users", "register", "--email", " ALICE@example.com", "--username", "newbie"],
        "already registered",
    ),
    (
        ["tasks", "create", "--creator", "{ALICE}", "--title", "red\x1b[31malert"],
        "control characters",
    ),
    (["tasks", "complete", "{STARTED_TASK}"], "waits for"),
    (["tasks", "depend", "{TODO_TASK}", "--on", "{STARTED_TASK}"], "depending on itself"),
    (["tasks", "set-status", "cancelled", "{TODO_TASK}", "{DONE_TASK}"], "is done and cannot"),
]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, World]:
    """A migrated SQLite file holding the world, made once: every test works on a copy."""
    database = tmp_path_factory.mktemp("hostile-cli") / "keel.db"

    async def seed() -> World:
        async with running(build_container(settings_for(f"sqlite:///{database}"))) as keel:
            await migrations.upgrade(keel.engine())
            return await build_world(keel)

    return database, asyncio.run(seed())


@pytest.fixture
def keel(seeded: tuple[Path, World], tmp_path: Path) -> Keel:
    return Keel(seeded[0]).copy_to(tmp_path / "keel.db")


def filled_in(arguments: list[str], world: World) -> list[str]:
    names = {ref.name: str(world.ids[ref]) for ref in Ref}
    return [argument.format(**names) if "{" in argument else argument for argument in arguments]


@pytest.mark.parametrize(("arguments", "says"), REFUSED_ARGUMENTS)
def test_hostile_arguments_are_refused_in_one_line_and_write_nothing(
    keel: Keel, seeded: tuple[Path, World], arguments: list[str], says: str
) -> None:
    before = sqlite_dump(keel.database)

    result = keel.run(*filled_in(arguments, seeded[1]))

    assert_refused(result, REFUSED, says)
    after = sqlite_dump(keel.database)
    assert after == before, (
        f"a refused command changed the database: {first_difference(before, after)}"
    )


@pytest.mark.parametrize(
    "arguments",
    [
        ["wallets", "deposit", "{ALICE_WALLET}"],
        ["tasks", "set-status", "todo", "{TODO_TASK}"],
        ["wallets", "statement", "{ALICE_WALLET}", "--limit", DROP_USERS],
    ],
)
def test_malformed_usage_is_a_usage_error_that_writes_nothing(
    keel: Keel, seeded: tuple[Path, World], arguments: list[str]
) -> None:
    before = sqlite_dump(keel.database)

    result = keel.run(*filled_in(arguments, seeded[1]))

    assert result.returncode == USAGE_ERROR, result.stderr
    assert "Traceback" not in result.stderr
    assert "Error:" in result.stderr, result.stderr
    assert sqlite_dump(keel.database) == before, "a usage error changed the database"
