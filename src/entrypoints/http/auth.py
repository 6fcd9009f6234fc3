"""Who is calling: the user of the `Authorization: Bearer <token>` header.

Tokens are issued at registration and only their hash is stored. What a user may do is
decided here, in the HTTP layer, from what the read-only use cases report.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from application.use_cases import AuthenticateUserQuery
from application.views import UserView
from entrypoints.http.dependencies import Keel

bearer = HTTPBearer(
    auto_error=False,  # a missing token gets Keel's 401 problem, not FastAPI's own answer
    description="The API token returned once by `POST /users`.",
)


class NotAuthenticated(Exception):
    """The request carries no bearer token."""


class Forbidden(Exception):
    """The caller is known but may not do this to this resource."""


async def current_user(
    keel: Keel,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> UserView:
    """The active user the bearer token belongs to; `InvalidApiToken` for any other token."""
    if credentials is None:
        raise NotAuthenticated("send the API token as `Authorization: Bearer <token>`")
    query = AuthenticateUserQuery(api_token=SecretStr(credentials.credentials))
    user: UserView = await keel.authenticate_user()(query)
    return user


CurrentUser = Annotated[UserView, Depends(current_user)]


def require(allowed: bool, reason: str) -> None:
    """Refuse with 403 unless `allowed`; called before the writing use case runs."""
    if not allowed:
        raise Forbidden(reason)
