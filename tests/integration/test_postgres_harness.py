"""Without a PostgreSQL server the PostgreSQL tests skip locally and fail in CI."""

from __future__ import annotations

import pytest

from tests.databases import POSTGRES_URL_VARIABLE, postgres_server

UNREACHABLE = "postgresql://keel@127.0.0.1:1/postgres"


@pytest.mark.parametrize(
    ("ci", "outcome"), [("false", pytest.skip.Exception), ("true", pytest.fail.Exception)]
)
def test_a_missing_server_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv(POSTGRES_URL_VARIABLE, UNREACHABLE)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="PostgreSQL tests need a server"), postgres_server():
        pass
