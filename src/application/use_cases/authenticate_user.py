from pydantic import SecretStr

from application.errors import InvalidApiToken
from application.models import Command
from application.ports.unit_of_work import UnitOfWorkFactory
from application.views import UserView
from domain.users import hash_api_token


class AuthenticateUserQuery(Command):
    api_token: SecretStr  # secret, so that no log or error message can repeat it


class AuthenticateUser:
    """The active user an API token belongs to; any other token is an `InvalidApiToken`."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, query: AuthenticateUserQuery) -> UserView:
        token_hash = hash_api_token(query.api_token.get_secret_value())
        async with self._uow_factory(read_only=True) as uow:
            user = await uow.users.find_by_api_token_hash(token_hash)
        if user is None or not user.active:
            raise InvalidApiToken("the API token is not valid")
        return UserView.of(user)
