"""Users: the people who own wallets."""

from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID, uuid4

from domain.errors import InvalidValue
from domain.events import Aggregate, UserRegistered, utc_now

MAX_EMAIL_LENGTH = 254
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
_USERNAME = re.compile(r"[a-z0-9_][a-z0-9_.-]{2,31}")


def normalize_email(raw: str) -> str:
    """The canonical form of an email address, or `InvalidValue` when it is not one."""
    email = raw.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(email):
        raise InvalidValue(f"{raw!r} is not a valid email address")
    return email


def normalize_username(raw: str) -> str:
    """The canonical username: 3 to 32 of a-z, 0-9, '_', '.', '-', not starting with '.' or '-'."""
    username = raw.strip().lower()
    if not _USERNAME.fullmatch(username):
        raise InvalidValue(
            f"{raw!r} is not a valid username: use 3 to 32 letters, digits, '_', '.' or '-'"
        )
    return username


class User(Aggregate):
    def __init__(
        self,
        *,
        id: UUID,
        email: str,
        username: str,
        active: bool,
        created_at: datetime,
        updated_at: datetime,
    ) -> None:
        super().__init__()
        self.id = id
        self.email = normalize_email(email)
        self.username = normalize_username(username)
        self.active = active
        self.created_at = created_at
        self.updated_at = updated_at

    @classmethod
    def register(cls, email: str, username: str) -> User:
        now = utc_now()
        user = cls(
            id=uuid4(), email=email, username=username, active=True, created_at=now, updated_at=now
        )
        user.record(UserRegistered(user_id=user.id, email=user.email, username=user.username))
        return user

    def deactivate(self) -> None:
        self.active = False
        self.updated_at = utc_now()
