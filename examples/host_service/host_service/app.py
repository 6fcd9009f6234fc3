"""The host's HTTP app: its own route, calling one of Keel's use cases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from uuid import UUID

from fastapi import Depends, FastAPI, HTTPException, Request, status
from pydantic import BaseModel

from application.use_cases import RegisterUserCommand
from domain.errors import Conflict, InvalidValue
from entrypoints.container import Container, running
from host_service.container import HostContainer


class Member(BaseModel):
    id: UUID
    username: str


def keel(request: Request) -> Container:
    host: HostContainer = request.app.state.host
    container: Container = host.keel()
    return container


Keel = Annotated[Container, Depends(keel)]


def create_host_app(host: HostContainer) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with running(host.keel()):
                yield
        finally:
            await host.engine().dispose()  # the host's engine: the host disposes of it

    app = FastAPI(title="Host service", lifespan=lifespan)
    app.state.host = host

    @app.post("/members", status_code=status.HTTP_201_CREATED)
    async def sign_up(command: RegisterUserCommand, keel: Keel) -> Member:
        """Register a member through Keel; the host keeps Keel's API token to itself."""
        try:
            user = await keel.register_user()(command)
        except Conflict as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
        except InvalidValue as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
        return Member(id=user.id, username=user.username)

    return app
