"""Reading the task board: any authenticated user may, with filters and page links."""

from __future__ import annotations

import json

import pytest

from tests.http.support import ABSENT, Api, assert_problem


async def test_any_user_may_read_a_task_with_its_subtasks_and_dependencies(api: Api) -> None:
    ada, bob = await api.register(), await api.register()
    design = await api.create_task(ada, title="Design")
    review = await api.create_task(ada, title="Review", dependency_ids=[design["id"]])
    sketch = await api.create_task(ada, title="Sketch", parent_id=review["id"])

    details = await api.ok("GET", f"/tasks/{review['id']}", bob)

    assert details["task"]["title"] == "Review"
    assert [task["id"] for task in details["subtasks"]] == [sketch["id"]]
    assert [task["id"] for task in details["dependencies"]] == [design["id"]]


async def test_an_unknown_task_is_a_404(api: Api) -> None:
    ada = await api.register()
    response = await api.client.get(f"/tasks/{ABSENT}", headers=ada.headers)
    assert_problem(response, 404, "not-found", ABSENT)


async def test_the_list_filters_and_links_pages_keeping_the_filters(api: Api) -> None:
    ada, bob = await api.register(), await api.register()
    for title in ["one", "two", "three"]:
        await api.create_task(ada, title=title)
    await api.create_task(bob, title="not ada's")

    first = await api.ok(
        "GET", "/tasks", bob, params={"creator_id": ada.user_id, "sort": "title", "limit": 2}
    )
    second = await api.ok("GET", first["links"]["next"], bob)

    assert [task["title"] for task in first["tasks"]] == ["one", "three"]
    assert [task["title"] for task in second["tasks"]] == ["two"]
    assert first["total"] == second["total"] == 3
    assert f"creator_id={ada.user_id}" in first["links"]["next"]
    assert "sort=title" in first["links"]["next"]
    assert (second["links"]["next"], second["links"]["prev"]) == (None, first["links"]["self"])


async def test_an_unknown_list_filter_or_sort_is_a_422(api: Api) -> None:
    ada = await api.register()

    unknown_filter = await api.client.get("/tasks?owner=me", headers=ada.headers)
    unknown_sort = await api.client.get("/tasks?sort=priority", headers=ada.headers)

    assert_problem(unknown_filter, 422, "invalid-input", "owner")
    assert_problem(unknown_sort, 422, "invalid-input", "sort")


async def test_an_offset_beyond_any_list_is_a_422(api: Api) -> None:
    ada = await api.register()
    response = await api.client.get("/tasks?offset=99999999999999999999", headers=ada.headers)
    assert_problem(response, 422, "invalid-input", "offset")


@pytest.mark.parametrize(
    "moment", ["created_after=0001-01-01T00:00:00%2B01:00", "created_before=9999-12-31T23:59-01:00"]
)
async def test_a_time_with_no_utc_equivalent_is_a_422(api: Api, moment: str) -> None:
    ada = await api.register()
    response = await api.client.get(f"/tasks?{moment}", headers=ada.headers)
    assert_problem(response, 422, "invalid-input", "out of range in UTC")


async def test_the_export_streams_every_task_as_json_lines_oldest_first(api: Api) -> None:
    ada = await api.register()
    titles = ["first", "second", "third"]
    for title in titles:
        await api.create_task(ada, title=title)

    response = await api.client.get("/tasks/export", headers=ada.headers)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    assert [json.loads(line)["title"] for line in response.text.splitlines()] == titles


async def test_reading_needs_a_token(api: Api) -> None:
    for url in ["/tasks", "/tasks/export", f"/tasks/{ABSENT}"]:
        assert_problem(await api.client.get(url), 401, "unauthenticated")
