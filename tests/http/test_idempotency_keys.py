"""The `Idempotency-Key` header: a repeated request applies once, per user."""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.support import Rows
from tests.http.support import Api, assert_problem


async def test_a_transfer_repeated_with_its_key_moves_credits_once(api: Api) -> None:
    ada, bob = await api.register(), await api.register()
    source = await api.open_wallet(ada, deposit="10")
    target = await api.open_wallet(bob)
    body = {"source_wallet_id": source, "target_wallet_id": target, "amount": "4"}
    headers = {**ada.headers, "Idempotency-Key": "pay-bob-1"}

    first = await api.client.post("/transfers", headers=headers, json=body)
    again = await api.client.post("/transfers", headers=headers, json=body)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    wallet = await api.ok("GET", f"/wallets/{source}", ada)
    assert wallet["balance"] == "6.00"


async def test_a_key_reused_for_another_request_is_a_409_and_changes_nothing(
    api: Api, rows: Callable[[], Rows]
) -> None:
    ada = await api.register()
    wallet = await api.open_wallet(ada)
    headers = {**ada.headers, "Idempotency-Key": "top-up"}
    await api.client.post(f"/wallets/{wallet}/deposits", headers=headers, json={"amount": "5"})
    before = rows()

    response = await api.client.post(
        f"/wallets/{wallet}/deposits", headers=headers, json={"amount": "6"}
    )

    assert_problem(response, 409, "conflict", "already used for a different")
    assert rows() == before


async def test_keys_of_different_users_never_meet(api: Api) -> None:
    ada, bob = await api.register(), await api.register()
    ada_wallet = await api.open_wallet(ada)
    bob_wallet = await api.open_wallet(bob)

    for caller, wallet in ((ada, ada_wallet), (bob, bob_wallet)):
        response = await api.client.post(
            f"/wallets/{wallet}/deposits",
            headers={**caller.headers, "Idempotency-Key": "same-key"},
            json={"amount": "5"},
        )
        assert response.status_code == 200, response.text

    assert (await api.ok("GET", f"/wallets/{bob_wallet}", bob))["balance"] == "5.00"


async def test_an_overlong_key_is_a_422(api: Api, rows: Callable[[], Rows]) -> None:
    ada = await api.register()
    wallet = await api.open_wallet(ada)
    before = rows()
    response = await api.client.post(
        f"/wallets/{wallet}/deposits",
        headers={**ada.headers, "Idempotency-Key": "k" * 161},
        json={"amount": "5"},
    )
    assert_problem(response, 422, "invalid-input", "Idempotency-Key")
    assert rows() == before
