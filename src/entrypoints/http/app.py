"""The HTTP app: Keel's use cases behind FastAPI, on a container that lives as long as it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from entrypoints.container import Container, running
from entrypoints.http.docs import add_docs_page
from entrypoints.http.middleware import CorrelationIds, UnexpectedErrors
from entrypoints.http.problems import add_problem_handlers
from entrypoints.http.routers import operations, task_changes, task_reading, users, wallets

DESCRIPTION = """\
Keel's use cases over HTTP. Register with `POST /users` to get an API token (shown once), then
send it as `Authorization: Bearer <token>`. Errors are RFC 9457 problem details.
"""


def create_app(container: Container) -> FastAPI:
    """An app serving `container`'s use cases; its resources start and stop with the app.

    Every request calls use cases that open a unit of work of their own: no session is shared.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running(container):
            yield

    app = FastAPI(
        title="Keel",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # replaced by the offline page below
        redoc_url=None,
    )
    app.state.container = container
    for router in (
        users.router,
        wallets.router,
        task_reading.router,
        task_changes.router,
        operations.router,
    ):
        app.include_router(router)
    add_problem_handlers(app)
    add_docs_page(app)
    # The last added runs first: every request has its correlation id before anything fails.
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(CorrelationIds)
    return app
