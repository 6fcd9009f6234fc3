"""Reading the task board: open to every authenticated user."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from application.use_cases.tasks.reading import (
    GetTaskQuery,
    ListTasksQuery,
    TaskDetailsView,
    TaskPageView,
)
from application.views import TaskView
from entrypoints.container import Container
from entrypoints.http.auth import CurrentUser
from entrypoints.http.dependencies import Keel
from entrypoints.http.pagination import PageLinks, page_links
from entrypoints.http.problems import problem_responses

NDJSON = "application/x-ndjson"

router = APIRouter(prefix="/tasks", tags=["tasks"])


class PagedTasks(TaskPageView):
    links: PageLinks


@router.get(
    "",
    responses=problem_responses(401, 422, 503),
    summary="A page of the tasks that match the filters, with links to the pages around it",
)
async def list_tasks(
    query: Annotated[ListTasksQuery, Query()], request: Request, keel: Keel, user: CurrentUser
) -> PagedTasks:
    page: TaskPageView = await keel.list_tasks()(query)
    links = page_links(request, limit=query.limit, offset=query.offset, total=page.total)
    return PagedTasks(**page.model_dump(), links=links)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Every task, oldest first, one JSON object a line",
            "content": {NDJSON: {"schema": {"type": "string"}}},
        },
        **problem_responses(401, 503),
    },
    summary="Every task as JSON lines, streamed",
)
async def export_tasks(keel: Keel, user: CurrentUser) -> StreamingResponse:
    async def lines() -> AsyncIterator[str]:
        async for task in keel.export_tasks()():
            yield task.model_dump_json() + "\n"

    return StreamingResponse(lines(), media_type=NDJSON)


@router.get(
    "/{task_id}",
    responses=problem_responses(401, 404, 422, 503),
    summary="A task with its subtasks and the tasks it depends on",
)
async def show_task(task_id: UUID, keel: Keel, user: CurrentUser) -> TaskDetailsView:
    details: TaskDetailsView = await keel.get_task()(GetTaskQuery(task_id=task_id))
    return details


async def read_task(keel: Container, task_id: UUID) -> TaskView:
    """The task itself, or 404; what the authorization checks of changes read."""
    details: TaskDetailsView = await keel.get_task()(GetTaskQuery(task_id=task_id))
    return details.task
