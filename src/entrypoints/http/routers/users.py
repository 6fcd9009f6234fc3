"""Users: open registration, which returns the API token once, and who the caller is."""

from __future__ import annotations

from fastapi import APIRouter, status

from application.use_cases import RegisteredUser, RegisterUserCommand
from application.views import UserView
from entrypoints.http.auth import CurrentUser
from entrypoints.http.dependencies import Keel
from entrypoints.http.problems import problem_responses

router = APIRouter(prefix="/users", tags=["users"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 409, 422, 503),
    summary="Register a user; the response carries its API token, shown only this once",
)
async def register_user(command: RegisterUserCommand, keel: Keel) -> RegisteredUser:
    use_case = keel.register_user()
    registered: RegisteredUser = await use_case(command)
    return registered


@router.get("/me", responses=problem_responses(401, 503), summary="The authenticated user")
async def show_current_user(user: CurrentUser) -> UserView:
    return user
