"""Databases for end-to-end tests of the `keel` CLI: absent, or migrated and seeded through it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.e2e.support import Keel, Seeded


@pytest.fixture
def keel(tmp_path: Path) -> Keel:
    """The CLI on a database file that does not exist yet."""
    return Keel(tmp_path / "keel.db")


@pytest.fixture(scope="module")
def seeded_original(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    # Seeding takes about a dozen CLI calls, so a module does it once and tests get copies.
    keel = Keel(tmp_path_factory.mktemp("seeded") / "keel.db")
    keel.ok("db", "upgrade")
    alice = keel.json("users", "register", "--email", "Alice@Example.com", "--username", "alice")
    bob = keel.json("users", "register", "--email", "bob@example.com", "--username", "bob")
    alice_wallet = keel.json("wallets", "open", alice["id"])
    bob_wallet = keel.json("wallets", "open", bob["id"])
    first_deposit = keel.json("wallets", "deposit", alice_wallet["id"], "100")
    transfer = keel.json(
        "wallets", "transfer", "--from", alice_wallet["id"], "--to", bob_wallet["id"], "30.50"
    )
    second_deposit = keel.json("wallets", "deposit", alice_wallet["id"], "0.75")
    return Seeded(
        keel=keel,
        alice=alice,
        bob=bob,
        alice_wallet=alice_wallet,
        bob_wallet=bob_wallet,
        first_deposit=first_deposit,
        transfer=transfer,
        second_deposit=second_deposit,
    )


@pytest.fixture
def seeded(seeded_original: Seeded, tmp_path: Path) -> Seeded:
    """A private copy of the seeded database, so that a write by one test reaches no other."""
    return dataclasses.replace(
        seeded_original, keel=seeded_original.keel.copy_to(tmp_path / "keel.db")
    )
