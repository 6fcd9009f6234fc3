"""What a request handler receives: Keel's container, from the application's state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from entrypoints.container import Container


def keel_container(request: Request) -> Container:
    """The container the app was created with: its use cases open a fresh unit per call."""
    container: Container = request.app.state.container
    return container


Keel = Annotated[Container, Depends(keel_container)]


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=160,
        description="Apply this request at most once: a repeat with the same key returns the "
        "first response's result and changes nothing; the same key with another request is a "
        "409. Keys are kept per user.",
    ),
]


def scoped_key(user_id: object, key: str | None) -> str | None:
    """The key as stored: per user, so that one user's key never meets another's."""
    return None if key is None else f"{user_id}:{key}"
