"""Registration issues an API token that resolves to its user, on every backend."""

from __future__ import annotations

from uuid import UUID

import pytest
from pydantic import SecretStr

from application.errors import InvalidApiToken
from application.ports.unit_of_work import UnitOfWorkFactory
from application.use_cases import (
    AuthenticateUser,
    AuthenticateUserQuery,
    RegisterUser,
    RegisterUserCommand,
)
from domain.errors import Conflict
from domain.users import hash_api_token


async def register(uow_factory: UnitOfWorkFactory, name: str) -> tuple[UUID, str]:
    command = RegisterUserCommand(email=f"{name}@example.com", username=name)
    registered = await RegisterUser(uow_factory)(command)
    return registered.id, registered.api_token


async def test_registration_stores_only_the_hash_of_the_token_it_returns(
    uow_factory: UnitOfWorkFactory,
) -> None:
    user_id, token = await register(uow_factory, "ada")

    async with uow_factory(read_only=True) as uow:
        stored = await uow.users.get(user_id)

    assert stored.api_token_hash == hash_api_token(token)


async def test_a_token_resolves_to_its_own_user(uow_factory: UnitOfWorkFactory) -> None:
    ada_id, ada_token = await register(uow_factory, "ada")
    bob_id, bob_token = await register(uow_factory, "bob")
    query = AuthenticateUserQuery

    ada = await AuthenticateUser(uow_factory)(query(api_token=SecretStr(ada_token)))
    bob = await AuthenticateUser(uow_factory)(query(api_token=SecretStr(bob_token)))

    assert (ada.id, bob.id) == (ada_id, bob_id)


@pytest.mark.parametrize("token", ["", "not-a-token"])
async def test_an_unknown_token_is_refused_without_repeating_it(
    uow_factory: UnitOfWorkFactory, token: str
) -> None:
    await register(uow_factory, "ada")
    query = AuthenticateUserQuery(api_token=SecretStr(token))

    with pytest.raises(InvalidApiToken) as refused:
        await AuthenticateUser(uow_factory)(query)

    assert "not-a-token" not in str(refused.value)


async def test_a_deactivated_users_token_is_refused(uow_factory: UnitOfWorkFactory) -> None:
    user_id, token = await register(uow_factory, "ada")
    async with uow_factory() as uow:
        (await uow.users.get(user_id)).deactivate()
        await uow.commit()

    with pytest.raises(InvalidApiToken):
        await AuthenticateUser(uow_factory)(AuthenticateUserQuery(api_token=SecretStr(token)))


async def test_two_users_cannot_hold_the_same_token_hash(uow_factory: UnitOfWorkFactory) -> None:
    ada_id, _ = await register(uow_factory, "ada")
    async with uow_factory(read_only=True) as uow:
        ada_hash = (await uow.users.get(ada_id)).api_token_hash

    bob_id, _ = await register(uow_factory, "bob")
    with pytest.raises(Conflict, match="this API token is already in use"):
        async with uow_factory() as uow:
            bob = await uow.users.get(bob_id)
            bob.api_token_hash = ada_hash
            await uow.commit()
