"""Every route but registration and the probes needs a valid token; refusals change nothing."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import pytest

from entrypoints.container import Container
from tests.e2e.support import Rows
from tests.http.support import Api, assert_problem

WRITES = [
    ("POST", "/wallets", None),
    ("POST", "/tasks", {"title": "Sneaky"}),
]


@pytest.mark.parametrize(("method", "url", "body"), WRITES)
async def test_a_request_without_a_token_is_a_401_and_writes_nothing(
    api: Api, rows: Callable[[], Rows], method: str, url: str, body: object
) -> None:
    await api.register("ada")
    before = rows()

    response = await api.client.request(method, url, json=body)

    assert_problem(response, 401, "unauthenticated", "Authorization: Bearer")
    assert response.headers["www-authenticate"] == "Bearer"
    assert rows() == before


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-token", "Bearer ", "Basic YWRhOmFkYQ==", "token"],
)
async def test_a_wrong_token_is_a_401_and_writes_nothing(
    api: Api, rows: Callable[[], Rows], authorization: str
) -> None:
    ada = await api.register("ada")
    wallet_id = await api.open_wallet(ada, deposit="10")
    before = rows()

    response = await api.client.post(
        f"/wallets/{wallet_id}/deposits",
        json={"amount": "5"},
        headers={"Authorization": authorization},
    )

    assert_problem(response, 401, "unauthenticated")
    assert rows() == before


async def test_a_token_is_never_echoed_in_a_refusal(api: Api) -> None:
    response = await api.client.get("/users/me", headers={"Authorization": "Bearer s3cr3t-t0ken"})
    assert_problem(response, 401, "unauthenticated")
    assert "s3cr3t" not in response.text


async def test_moving_credits_out_of_another_users_wallet_is_a_403_and_moves_nothing(
    api: Api, rows: Callable[[], Rows]
) -> None:
    ada, mallory = await api.register("ada"), await api.register("mallory")
    ada_wallet = await api.open_wallet(ada, deposit="100")
    mallory_wallet = await api.open_wallet(mallory)
    before = rows()

    response = await api.client.post(
        "/transfers",
        headers=mallory.headers,
        json={"source_wallet_id": ada_wallet, "target_wallet_id": mallory_wallet, "amount": "50"},
    )

    assert_problem(response, 403, "forbidden", "belongs to another user")
    assert rows() == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/deposits", {"amount": "5"}),
        ("GET", "", None),
        ("GET", "/statement", None),
    ],
)
async def test_another_users_wallet_is_a_403_to_see_or_deposit_into(
    api: Api, rows: Callable[[], Rows], method: str, path: str, body: object
) -> None:
    ada, mallory = await api.register("ada"), await api.register("mallory")
    ada_wallet = await api.open_wallet(ada, deposit="100")
    before = rows()

    response = await api.client.request(
        method, f"/wallets/{ada_wallet}{path}", headers=mallory.headers, json=body
    )

    assert_problem(response, 403, "forbidden")
    assert rows() == before


async def test_a_deactivated_users_token_is_a_401(api: Api, container: Container) -> None:
    ada = await api.register("ada")
    async with container.uow() as uow:
        user = await uow.users.get(UUID(ada.user_id))
        user.deactivate()
        await uow.commit()

    response = await api.client.get("/users/me", headers=ada.headers)

    assert_problem(response, 401, "unauthenticated", "not valid")
