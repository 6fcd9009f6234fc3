"""`--idempotency-key` on writing commands, and `keel outbox` delivering committed events."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.recording_handlers import HANDLED_FILE
from tests.e2e.support import BAD_CONFIGURATION, REFUSED, Seeded, assert_refused

REPO = Path(__file__).resolve().parents[2]


def test_a_deposit_repeated_with_its_key_is_applied_once(seeded: Seeded) -> None:
    wallet = seeded.alice_wallet_id
    first = seeded.keel.json("wallets", "deposit", wallet, "5", "--idempotency-key", "dep-1")
    again = seeded.keel.json("wallets", "deposit", wallet, "5", "--idempotency-key", "dep-1")

    assert again == first
    assert first["balance"] == "75.25"
    assert seeded.keel.json("wallets", "show", wallet)["balance"] == "75.25"


def test_a_key_reused_for_another_command_is_refused_and_writes_nothing(seeded: Seeded) -> None:
    wallet = seeded.alice_wallet_id
    seeded.keel.ok("wallets", "deposit", wallet, "5", "--idempotency-key", "dep-1")
    before = seeded.keel.rows()

    result = seeded.keel.run("wallets", "deposit", wallet, "6", "--idempotency-key", "dep-1")

    assert_refused(result, REFUSED, "already used for a different deposit_credits command")
    assert seeded.keel.rows() == before


def test_a_malformed_key_is_refused_before_anything_is_written(seeded: Seeded) -> None:
    before = seeded.keel.rows()
    result = seeded.keel.run(
        "wallets", "deposit", seeded.alice_wallet_id, "5", "--idempotency-key", " "
    )
    assert_refused(result, REFUSED, "idempotency key")
    assert seeded.keel.rows() == before


def test_the_relay_delivers_pending_events_once_and_reports_them(
    seeded: Seeded, tmp_path: Path
) -> None:
    handled = tmp_path / "handled.txt"
    environment = {
        "KEEL_EVENT_HANDLERS": "tests.e2e.recording_handlers:register",
        HANDLED_FILE: str(handled),
        "PYTHONPATH": str(REPO),
    }
    assert seeded.keel.ok("outbox", "status") == "pending 7, done 0, failed 0\n"

    relayed = seeded.keel.run("outbox", "relay", "--json", **environment)
    again = seeded.keel.run("outbox", "relay", "--json", **environment)

    assert relayed.returncode == 0, relayed.stderr
    assert relayed.stdout == '{"delivered": 7, "failed": 0, "given_up": 0}\n'
    assert "delivered 7, failed 0" in relayed.stderr
    assert again.stdout == '{"delivered": 0, "failed": 0, "given_up": 0}\n'
    assert handled.read_text() == "CreditsDeposited 100.00\nCreditsDeposited 0.75\n"
    assert seeded.keel.ok("outbox", "status") == "pending 0, done 7, failed 0\n"


def test_handlers_that_cannot_be_loaded_are_a_configuration_error(seeded: Seeded) -> None:
    result = seeded.keel.run("outbox", "relay", KEEL_EVENT_HANDLERS="no_such_module:register")
    assert_refused(result, BAD_CONFIGURATION, "KEEL_EVENT_HANDLERS=no_such_module:register")
