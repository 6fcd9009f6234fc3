"""Schemathesis generates requests from the OpenAPI schema: none may get a 5xx, and every
response must match what the schema promises (status, content type, body, headers).

The number of examples follows the Hypothesis profile (tests/conftest.py): few locally,
more in CI.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from application.use_cases import RegisterUserCommand
from entrypoints.container import build_container, running
from entrypoints.http import create_app
from tests.conftest import migrated_sqlite_engine, sqlite_settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


async def registered_token(database: Path) -> str:
    """Migrate `database` and register the user whose token the generated requests carry."""
    async with migrated_sqlite_engine(database):
        pass
    async with running(build_container(sqlite_settings(database))) as keel:
        command = RegisterUserCommand(email="fuzz@example.com", username="fuzz")
        user = await keel.register_user()(command)
    return str(user.api_token)


@pytest.fixture(scope="module")
def fuzzed_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzzed") / "keel.db"


@pytest.fixture(scope="module")
def token(fuzzed_database: Path) -> str:
    return asyncio.run(registered_token(fuzzed_database))


@pytest.fixture(scope="module")
def app(fuzzed_database: Path, token: str) -> FastAPI:
    """The app on the fuzzed database; Schemathesis runs its lifespan on a loop of its own."""
    return create_app(build_container(sqlite_settings(fuzzed_database)))


# Generating the schema touches no database, so it can be read when the tests are collected.
schema = schemathesis.openapi.from_dict(create_app(build_container()).openapi())


@schema.parametrize()
def test_generated_requests_get_no_server_error_and_match_the_schema(
    case: Case[Any], app: FastAPI, token: str
) -> None:
    response = case.call(app=app, headers={"Authorization": f"Bearer {token}"})
    # Raises, naming the failed check, when the response breaks the schema.
    case.validate_response(response, checks=CHECKS)
    assert response.status_code < 500, f"{case.method} {case.path}: {response.text}"
