"""Changing tasks over HTTP: each change as its role allows, bounties moving with status."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.support import Rows
from tests.http.support import ABSENT, Api, Caller, assert_problem


async def balance(api: Api, caller: Caller, wallet_id: str) -> str:
    return str((await api.ok("GET", f"/wallets/{wallet_id}", caller))["balance"])


async def assigned_task(api: Api, creator: Caller, assignee: Caller, **fields: object) -> str:
    task = await api.create_task(creator, **fields)
    await api.ok(
        "POST", f"/tasks/{task['id']}/assign", creator, json={"assignee_id": assignee.user_id}
    )
    return str(task["id"])


async def test_creating_a_task_with_a_bounty_escrows_it_from_the_callers_wallet(
    api: Api,
) -> None:
    ada = await api.register()
    wallet = await api.open_wallet(ada, deposit="100")

    task = await api.create_task(ada, title="Release notes", bounty="25")

    assert (task["creator_id"], task["status"], task["bounty"]) == (ada.user_id, "todo", "25.00")
    assert await balance(api, ada, wallet) == "75.00"


async def test_a_bounty_beyond_the_balance_is_a_409_and_creates_nothing(
    api: Api, rows: Callable[[], Rows]
) -> None:
    ada = await api.register()
    await api.open_wallet(ada, deposit="10")
    before = rows()

    response = await api.client.post(
        "/tasks", headers=ada.headers, json={"title": "Too dear", "bounty": "10.01"}
    )

    assert_problem(response, 409, "insufficient-funds")
    assert rows() == before


async def test_a_task_cannot_be_created_in_another_users_name(api: Api) -> None:
    ada, bob = await api.register(), await api.register()
    response = await api.client.post(
        "/tasks", headers=ada.headers, json={"title": "Framed", "creator_id": bob.user_id}
    )
    assert_problem(response, 422, "invalid-input", "body.creator_id")


async def test_a_batch_is_created_all_or_nothing(api: Api, rows: Callable[[], Rows]) -> None:
    ada = await api.register()
    good = {"title": "Design", "task_id": "11111111-1111-4111-8111-111111111111"}
    child = {"title": "Review", "parent_id": good["task_id"]}

    created = await api.ok("POST", "/tasks/batch", ada, status=201, json={"tasks": [good, child]})
    before = rows()
    refused = await api.client.post(
        "/tasks/batch",
        headers=ada.headers,
        json={"tasks": [{"title": "Fine"}, {"title": "Orphan", "parent_id": ABSENT}]},
    )

    assert created["count"] == 2
    assert created["task_ids"][0] == good["task_id"]
    assert_problem(refused, 404, "not-found", "item 2")
    assert rows() == before


async def test_the_assignee_starts_and_completes_and_is_paid_the_bounty(api: Api) -> None:
    ada, bob = await api.register(), await api.register()
    await api.open_wallet(ada, deposit="100")
    bob_wallet = await api.open_wallet(bob)
    task_id = await assigned_task(api, ada, bob, bounty="25")

    started = await api.ok("POST", f"/tasks/{task_id}/start", bob)
    done = await api.ok("POST", f"/tasks/{task_id}/complete", bob)

    assert (started["status"], done["status"]) == ("in_progress", "done")
    assert await balance(api, bob, bob_wallet) == "25.00"


async def test_cancelling_refunds_the_creator(api: Api) -> None:
    ada = await api.register()
    wallet = await api.open_wallet(ada, deposit="100")
    task = await api.create_task(ada, bounty="40")

    cancelled = await api.ok("POST", f"/tasks/{task['id']}/cancel", ada)

    assert cancelled["status"] == "cancelled"
    assert await balance(api, ada, wallet) == "100.00"


async def test_deleting_and_restoring(api: Api) -> None:
    ada = await api.register()
    task = await api.create_task(ada)

    deleted = await api.ok("DELETE", f"/tasks/{task['id']}", ada)
    listed = await api.ok("GET", "/tasks", ada)
    restored = await api.ok("POST", f"/tasks/{task['id']}/restore", ada)

    assert deleted["deleted_at"] is not None
    assert listed["total"] == 0
    assert restored["deleted_at"] is None


async def test_a_dependency_is_added_and_a_cycle_is_a_409(api: Api) -> None:
    ada = await api.register()
    first, second = await api.create_task(ada), await api.create_task(ada)

    added = await api.ok(
        "POST", f"/tasks/{second['id']}/dependencies", ada, json={"depends_on_id": first["id"]}
    )
    cycle = await api.client.post(
        f"/tasks/{first['id']}/dependencies",
        headers=ada.headers,
        json={"depends_on_id": second["id"]},
    )

    assert added["dependency_ids"] == [first["id"]]
    assert_problem(cycle, 409, "dependency-cycle")


async def test_an_illegal_transition_is_a_409(api: Api) -> None:
    ada = await api.register()
    task_id = await assigned_task(api, ada, ada)

    response = await api.client.post(f"/tasks/{task_id}/complete", headers=ada.headers)

    assert_problem(response, 409, "illegal-transition")


async def test_assigning_an_unknown_user_is_a_404(api: Api) -> None:
    ada = await api.register()
    task = await api.create_task(ada)

    response = await api.client.post(
        f"/tasks/{task['id']}/assign", headers=ada.headers, json={"assignee_id": ABSENT}
    )

    assert_problem(response, 404, "not-found")


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("POST", "/assign", "assignee"),
        ("POST", "/cancel", None),
        ("DELETE", "", None),
        ("POST", "/restore", None),
        ("POST", "/dependencies", "dependency"),
    ],
)
async def test_only_the_creator_may_assign_cancel_delete_restore_or_add_dependencies(
    api: Api, rows: Callable[[], Rows], method: str, action: str, body: str | None
) -> None:
    ada, bob = await api.register(), await api.register()
    other = await api.create_task(ada)
    task_id = await assigned_task(api, ada, bob)
    payload = {
        "assignee": {"assignee_id": bob.user_id},
        "dependency": {"depends_on_id": other["id"]},
        None: None,
    }[body]
    before = rows()

    response = await api.client.request(
        method, f"/tasks/{task_id}{action}", headers=bob.headers, json=payload
    )

    assert_problem(response, 403, "forbidden", "only the creator")
    assert rows() == before


@pytest.mark.parametrize("action", ["start", "complete"])
async def test_only_the_assignee_may_start_or_complete(
    api: Api, rows: Callable[[], Rows], action: str
) -> None:
    ada, bob = await api.register(), await api.register()
    task_id = await assigned_task(api, ada, bob)
    before = rows()

    response = await api.client.post(f"/tasks/{task_id}/{action}", headers=ada.headers)

    assert_problem(response, 403, "forbidden", "only the assignee")
    assert rows() == before


async def test_a_bulk_status_change_applies_to_every_task_or_none(
    api: Api, rows: Callable[[], Rows]
) -> None:
    ada, bob = await api.register(), await api.register()
    mine = [await assigned_task(api, ada, bob) for _ in range(2)]
    not_assigned = (await api.create_task(ada))["id"]

    changed = await api.ok(
        "POST", "/tasks/status-changes", bob, json={"task_ids": mine, "status": "in_progress"}
    )
    before = rows()
    refused = await api.client.post(
        "/tasks/status-changes",
        headers=bob.headers,
        json={"task_ids": [*mine, not_assigned], "status": "cancelled"},
    )

    assert changed == {"changed": 2}
    assert_problem(refused, 403, "forbidden", "only the creator")
    assert rows() == before


async def test_a_bulk_status_change_is_bounded_per_request(api: Api) -> None:
    ada = await api.register()
    response = await api.client.post(
        "/tasks/status-changes",
        headers=ada.headers,
        json={"task_ids": [ABSENT] * 101, "status": "done"},
    )
    assert_problem(response, 422, "invalid-input", "body.task_ids")
