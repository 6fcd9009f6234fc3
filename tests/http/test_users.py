"""Registration hands out an API token once; the token identifies its user afterwards."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import httpx

from tests.e2e.support import Rows
from tests.http.support import Api, assert_problem


async def test_registering_returns_the_user_and_a_token_that_is_stored_only_as_a_hash(
    client: httpx.AsyncClient, database: Path
) -> None:
    response = await client.post("/users", json={"email": "Ada@Example.com", "username": "ada"})

    assert response.status_code == 201
    body = response.json()
    assert (body["email"], body["username"], body["active"]) == ("ada@example.com", "ada", True)
    token = body["api_token"]
    assert len(token) >= 43  # 32 random bytes, base64url
    with closing(sqlite3.connect(database)) as connection:
        [(stored,)] = connection.execute("SELECT api_token_hash FROM users").fetchall()
        dump = "\n".join(connection.iterdump())
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in dump


async def test_the_token_identifies_its_user(api: Api) -> None:
    ada = await api.register("ada")
    await api.register("bob")

    me = await api.ok("GET", "/users/me", ada)

    assert (me["id"], me["username"]) == (ada.user_id, "ada")
    assert "api_token" not in me


async def test_each_registration_gets_a_different_token(api: Api) -> None:
    ada, bob = await api.register(), await api.register()
    assert ada.token != bob.token


async def test_a_taken_username_is_a_409_and_adds_nobody(
    api: Api, rows: Callable[[], Rows]
) -> None:
    await api.register("ada")
    before = rows()

    response = await api.client.post(
        "/users", json={"email": "other@example.com", "username": "ADA"}
    )

    assert_problem(response, 409, "conflict", "username is already taken")
    assert rows() == before


async def test_a_malformed_email_is_a_422_naming_the_field(api: Api) -> None:
    response = await api.client.post("/users", json={"email": "ada", "username": "ada"})

    assert_problem(response, 422, "invalid-input", "body.email")
    assert response.json()["errors"] == [
        {"field": "body.email", "message": "'ada' is not a valid email address"}
    ]


async def test_unknown_fields_are_refused_rather_than_ignored(api: Api) -> None:
    response = await api.client.post(
        "/users", json={"email": "ada@example.com", "username": "ada", "admin": True}
    )
    assert_problem(response, 422, "invalid-input", "body.admin")
