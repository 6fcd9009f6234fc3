"""The audit trail: start and outcome of every use case and repository call, one correlation id."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from dependency_injector import providers

from application.audit import correlation_id
from application.use_cases import OpenWalletCommand, RegisterUserCommand
from domain.errors import Conflict
from entrypoints.container import Container, build_container
from entrypoints.log_output import ConsoleLines, JsonLines
from infrastructure.in_memory import InMemoryStore, InMemoryUnitOfWork

ADA = RegisterUserCommand(email="ada@example.com", username="ada")


@pytest.fixture
def keel() -> Container:
    container = build_container()
    container.uow.override(providers.Factory(InMemoryUnitOfWork, InMemoryStore()))
    return container


def audit_of(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = record.__dict__["audit"]
    return fields


async def test_a_use_case_and_its_repository_calls_share_one_correlation_id(
    keel: Container, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="keel.audit"):
        user = await keel.register_user()(ADA)
        await keel.open_wallet()(OpenWalletCommand(owner_id=user.id))
    trail = [audit_of(record) for record in caplog.records]
    opening = [entry for entry in trail if entry["correlation_id"] == trail[-1]["correlation_id"]]

    assert [(e["operation"], e["outcome"]) for e in opening] == [
        ("OpenWallet", "started"),
        ("users.get", "started"),
        ("users.get", "succeeded"),
        ("wallets.add", "started"),
        ("wallets.add", "succeeded"),
        ("OpenWallet", "succeeded"),
    ]
    assert opening[0]["ids"] == [str(user.id)]
    assert all(e["duration_ms"] >= 0 for e in opening if e["outcome"] != "started")
    assert len({entry["correlation_id"] for entry in trail}) == 2


async def test_a_failing_use_case_records_its_error_and_reraises_it(
    keel: Container, caplog: pytest.LogCaptureFixture
) -> None:
    user = await keel.register_user()(ADA)
    await keel.open_wallet()(OpenWalletCommand(owner_id=user.id))
    with caplog.at_level(logging.INFO, logger="keel.audit"), pytest.raises(Conflict):
        await keel.open_wallet()(OpenWalletCommand(owner_id=user.id))

    [failure] = [audit_of(r) for r in caplog.records if audit_of(r)["outcome"] == "failed"]
    assert failure["operation"] == "OpenWallet"
    assert failure["error"] == "Conflict: this user already has a wallet"
    assert failure["duration_ms"] >= 0
    assert {audit_of(r)["correlation_id"] for r in caplog.records} == {failure["correlation_id"]}


async def test_an_entry_point_correlation_id_is_carried_through(
    keel: Container, caplog: pytest.LogCaptureFixture
) -> None:
    token = correlation_id.set("request-42")
    try:
        with caplog.at_level(logging.INFO, logger="keel.audit"):
            await keel.register_user()(ADA)
    finally:
        correlation_id.reset(token)
    assert {audit_of(record)["correlation_id"] for record in caplog.records} == {"request-42"}


async def test_nothing_is_recorded_below_the_info_level(
    keel: Container, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="keel.audit"):
        await keel.register_user()(ADA)
    assert caplog.records == []


async def test_records_carry_no_personal_data_beyond_ids(
    keel: Container, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="keel.audit"):
        await keel.register_user()(ADA)
    text = " ".join(JsonLines().format(record) for record in caplog.records)
    assert "ada@example.com" not in text
    assert '"username"' not in text


def test_json_lines_put_the_audit_fields_at_the_top_level() -> None:
    record = logging.makeLogRecord(
        {"name": "keel.audit", "levelname": "INFO", "msg": "X started", "audit": {"operation": "X"}}
    )
    assert json.loads(JsonLines().format(record))["operation"] == "X"
    assert ConsoleLines().format(record) == "info keel.audit: X started operation=X"
