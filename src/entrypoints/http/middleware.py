"""ASGI middleware: a correlation id per request, and a last line for unexpected errors."""

from __future__ import annotations

import logging
from uuid import uuid4

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from application.audit import correlation_id
from entrypoints.http.problems import INTERNAL_ERROR, problem_response

logger = logging.getLogger("keel.http")
CORRELATION_HEADER = "X-Correlation-ID"


class CorrelationIds:
    """Ties the audit records of one request together, and tells the client the id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid4().hex
        token = correlation_id.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                header = (CORRELATION_HEADER.lower().encode(), request_id.encode())
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation_id.reset(token)


class UnexpectedErrors:
    """An error no handler knows becomes a 500 problem that shows nothing of it; the log
    keeps the traceback. Once a response has started it can only be cut short."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception:
            logger.exception("unexpected error in %s %s", scope["method"], scope["path"])
            if started:
                raise
            detail = f"an unexpected error occurred (correlation id {correlation_id.get()})"
            response = problem_response(INTERNAL_ERROR, detail)
            await response(scope, receive, send)
