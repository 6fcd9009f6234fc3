"""Talking to the HTTP app in tests: callers with tokens, and shortcuts that must succeed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx

ABSENT = "00000000-0000-4000-8000-000000000000"
"""A well-formed id that nothing has."""


@dataclass(frozen=True)
class Caller:
    """A registered user and the API token registration returned."""

    user_id: str
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """An httpx client on the app, with shortcuts for the steps a test needs done."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def register(self, name: str | None = None) -> Caller:
        username = name or f"user_{uuid4().hex[:10]}"
        response = await self.client.post(
            "/users", json={"email": f"{username}@example.com", "username": username}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return Caller(user_id=body["id"], username=body["username"], token=body["api_token"])

    async def open_wallet(self, caller: Caller, deposit: str | None = None) -> str:
        response = await self.client.post("/wallets", headers=caller.headers)
        assert response.status_code == 201, response.text
        wallet_id = str(response.json()["id"])
        if deposit is not None:
            await self.ok(
                "POST", f"/wallets/{wallet_id}/deposits", caller, json={"amount": deposit}
            )
        return wallet_id

    async def create_task(self, caller: Caller, **fields: Any) -> dict[str, Any]:
        return await self.ok(
            "POST", "/tasks", caller, json={"title": "Write it", **fields}, status=201
        )

    async def ok(
        self, method: str, url: str, caller: Caller, *, status: int = 200, **kwargs: Any
    ) -> dict[str, Any]:
        """The JSON body of a request that must answer `status`."""
        response = await self.client.request(method, url, headers=caller.headers, **kwargs)
        assert response.status_code == status, response.text
        body = response.json()
        assert isinstance(body, dict)
        return body


def assert_problem(response: httpx.Response, status: int, kind: str, says: str = "") -> None:
    """An RFC 9457 problem of this status and kind, without a trace of the server's insides."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"urn:keel:problem:{kind}"
    assert problem["status"] == status
    assert problem["title"]
    assert says in problem["detail"]
    assert "Traceback" not in response.text
