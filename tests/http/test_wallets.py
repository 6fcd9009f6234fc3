"""Wallets over HTTP: open, deposit, show, transfer, and the statement a page at a time."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.support import Rows
from tests.http.support import ABSENT, Api, assert_problem


async def test_opening_gives_the_caller_an_empty_wallet(api: Api) -> None:
    ada = await api.register()
    wallet_id = await api.open_wallet(ada)

    wallet = await api.ok("GET", f"/wallets/{wallet_id}", ada)

    assert (wallet["owner_id"], wallet["balance"]) == (ada.user_id, "0.00")


async def test_a_second_wallet_is_a_409(api: Api, rows: Callable[[], Rows]) -> None:
    ada = await api.register()
    await api.open_wallet(ada)
    before = rows()

    response = await api.client.post("/wallets", headers=ada.headers)

    assert_problem(response, 409, "conflict", "already has a wallet")
    assert rows() == before


async def test_a_deposit_returns_the_new_exact_balance(api: Api) -> None:
    ada = await api.register()
    wallet_id = await api.open_wallet(ada, deposit="100")

    wallet = await api.ok("POST", f"/wallets/{wallet_id}/deposits", ada, json={"amount": "0.75"})

    assert wallet["balance"] == "100.75"


@pytest.mark.parametrize("amount", [0.5, "0", "-1", "1.001", "abc"])
async def test_an_invalid_amount_is_a_422_and_deposits_nothing(
    api: Api, rows: Callable[[], Rows], amount: object
) -> None:
    ada = await api.register()
    wallet_id = await api.open_wallet(ada)
    before = rows()

    response = await api.client.post(
        f"/wallets/{wallet_id}/deposits", headers=ada.headers, json={"amount": amount}
    )

    assert_problem(response, 422, "invalid-input", "body.amount")
    assert rows() == before


async def test_an_unknown_wallet_is_a_404(api: Api) -> None:
    ada = await api.register()
    response = await api.client.get(f"/wallets/{ABSENT}", headers=ada.headers)
    assert_problem(response, 404, "not-found", ABSENT)


async def test_a_malformed_wallet_id_is_a_422(api: Api) -> None:
    ada = await api.register()
    response = await api.client.get("/wallets/not-a-uuid", headers=ada.headers)
    assert_problem(response, 422, "invalid-input", "path.wallet_id")


async def test_a_transfer_moves_credits_and_returns_both_balances(api: Api) -> None:
    ada, bob = await api.register(), await api.register()
    ada_wallet = await api.open_wallet(ada, deposit="100")
    bob_wallet = await api.open_wallet(bob)

    receipt = await api.ok(
        "POST",
        "/transfers",
        ada,
        status=201,
        json={"source_wallet_id": ada_wallet, "target_wallet_id": bob_wallet, "amount": "30.50"},
    )

    assert (receipt["amount"], receipt["source_balance"], receipt["target_balance"]) == (
        "30.50",
        "69.50",
        "30.50",
    )
    assert (await api.ok("GET", f"/wallets/{bob_wallet}", bob))["balance"] == "30.50"


async def test_insufficient_funds_is_a_409_and_moves_nothing(
    api: Api, rows: Callable[[], Rows]
) -> None:
    ada, bob = await api.register(), await api.register()
    ada_wallet = await api.open_wallet(ada, deposit="10")
    bob_wallet = await api.open_wallet(bob)
    before = rows()

    response = await api.client.post(
        "/transfers",
        headers=ada.headers,
        json={"source_wallet_id": ada_wallet, "target_wallet_id": bob_wallet, "amount": "10.01"},
    )

    assert_problem(response, 409, "insufficient-funds")
    assert rows() == before


async def test_a_transfer_to_the_same_wallet_is_a_422(api: Api) -> None:
    ada = await api.register()
    wallet = await api.open_wallet(ada, deposit="10")

    response = await api.client.post(
        "/transfers",
        headers=ada.headers,
        json={"source_wallet_id": wallet, "target_wallet_id": wallet, "amount": "1"},
    )

    assert_problem(response, 422, "invalid-transfer")


async def test_a_transfer_to_an_unknown_wallet_is_a_404(api: Api) -> None:
    ada = await api.register()
    wallet = await api.open_wallet(ada, deposit="10")

    response = await api.client.post(
        "/transfers",
        headers=ada.headers,
        json={"source_wallet_id": wallet, "target_wallet_id": ABSENT, "amount": "1"},
    )

    assert_problem(response, 404, "not-found", ABSENT)


async def test_the_statement_pages_newest_first_with_links(api: Api) -> None:
    ada = await api.register()
    wallet_id = await api.open_wallet(ada)
    for amount in ["1", "2", "3", "4", "5"]:
        await api.ok("POST", f"/wallets/{wallet_id}/deposits", ada, json={"amount": amount})
    url = f"/wallets/{wallet_id}/statement"

    first = await api.ok("GET", url, ada, params={"limit": 2})
    second = await api.ok("GET", first["links"]["next"], ada)
    last = await api.ok("GET", second["links"]["next"], ada)

    assert [line["amount"] for line in first["lines"]] == ["5.00", "4.00"]
    assert [line["amount"] for line in second["lines"]] == ["3.00", "2.00"]
    assert [line["amount"] for line in last["lines"]] == ["1.00"]
    assert (first["total"], first["balance"]) == (5, "15.00")
    assert first["links"]["self"] == f"{url}?limit=2&offset=0"
    assert first["links"]["prev"] is None
    assert second["links"]["prev"] == f"{url}?limit=2&offset=0"
    assert last["links"]["next"] is None


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"offset": -1}])
async def test_a_statement_page_out_of_bounds_is_a_422(api: Api, params: dict[str, int]) -> None:
    ada = await api.register()
    wallet_id = await api.open_wallet(ada)

    response = await api.client.get(
        f"/wallets/{wallet_id}/statement", headers=ada.headers, params=params
    )

    assert_problem(response, 422, "invalid-input", "query.")
