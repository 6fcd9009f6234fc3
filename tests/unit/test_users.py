from hashlib import sha256

import pytest

from domain.errors import InvalidValue
from domain.events import UserRegistered
from domain.users import User, hash_api_token, normalize_email, normalize_username


def test_registering_normalizes_email_and_username_and_records_the_fact() -> None:
    user = User.register("  Ada@Example.COM ", "Ada_L")
    assert (user.email, user.username, user.active) == ("ada@example.com", "ada_l", True)
    [event] = user.pull_events()
    assert isinstance(event, UserRegistered)
    assert event.user_id == user.id


@pytest.mark.parametrize(
    "email",
    [
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "a da@example.com",
        "ada\x00@example.com",
        "a@b@example.com",
        "x" * 250 + "@example.com",
    ],
)
def test_malformed_emails_are_refused(email: str) -> None:
    with pytest.raises(InvalidValue, match="not a valid email"):
        normalize_email(email)


@pytest.mark.parametrize(
    "username",
    [
        "",
        "ab",
        "x" * 33,
        "-ada",
        ".ada",
        "ada lovelace",
        "ada;drop table users",
        "ädä",
        "ad\na",
        "ada\x00",
    ],
)
def test_malformed_usernames_are_refused(username: str) -> None:
    with pytest.raises(InvalidValue, match="not a valid username"):
        normalize_username(username)


def test_deactivating_a_user_marks_the_change() -> None:
    user = User.register("ada@example.com", "ada")
    before = user.updated_at
    user.deactivate()
    assert user.active is False
    assert user.updated_at >= before


def test_an_issued_api_token_is_kept_only_as_its_sha256() -> None:
    user = User.register("ada@example.com", "ada")

    token = user.issue_api_token()

    assert user.api_token_hash == hash_api_token(token) == sha256(token.encode()).hexdigest()
    assert token not in vars(user).values()


def test_a_new_token_replaces_the_old_one() -> None:
    user = User.register("ada@example.com", "ada")
    first = user.issue_api_token()
    second = user.issue_api_token()
    assert first != second
    assert user.api_token_hash == hash_api_token(second)
