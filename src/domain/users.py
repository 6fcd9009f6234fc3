"""Users: the people who own wallets."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from uuid import UUID, uuid4

from domain.errors import InvalidValue
from domain.events import Aggregate, UserRegistered, utc_now

MAX_EMAIL_LENGTH = 254
# No C0 or C1 controls: some terminals act on C1 codes such as U+009B as escape sequences.
_EMAIL_PART = r"[^@\s\x00-\x1f\x7f-\x9f]+"
_EMAIL = re.compile(rf"{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}")
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


def new_api_token() -> str:
    """A fresh bearer token: 32 random bytes, URL-safe, shown to its user once."""
    return secrets.token_urlsafe(32)


def hash_api_token(token: str) -> str:
    """What is stored of a token: its SHA-256 in hex. A random token needs no salt or stretching."""
    return hashlib.sha256(token.encode()).hexdigest()


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
        api_token_hash: str | None = None,
    ) -> None:
        super().__init__()
        self.id = id
        self.email = normalize_email(email)
        self.username = normalize_username(username)
        self.active = active
        self.created_at = created_at
        self.updated_at = updated_at
        self.api_token_hash = api_token_hash

    @classmethod
    def register(cls, email: str, username: str) -> User:
        now = utc_now()
        user = cls(
            id=uuid4(), email=email, username=username, active=True, created_at=now, updated_at=now
        )
        user.record(UserRegistered(user_id=user.id, email=user.email, username=user.username))
        return user

    def issue_api_token(self) -> str:
        """A new API token for this user, replacing any earlier one; only its hash is kept."""
        token = new_api_token()
        self.api_token_hash = hash_api_token(token)
        self.updated_at = utc_now()
        return token

    def deactivate(self) -> None:
        self.active = False
        self.updated_at = utc_now()
