from application.models import Command, Email, Username
from application.ports.unit_of_work import UnitOfWorkFactory
from application.views import UserView
from domain.users import User


class RegisteredUser(UserView):
    """A new user and its API token, shown this once: only the token's hash is stored."""

    api_token: str


class RegisterUserCommand(Command):
    email: Email
    username: Username


class RegisterUser:
    """Register an active user and issue its API token; a taken email or username: `Conflict`."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, command: RegisterUserCommand) -> RegisteredUser:
        async with self._uow_factory() as uow:
            user = User.register(command.email, command.username)
            api_token = user.issue_api_token()
            await uow.users.add(user)
            await uow.commit()
        return RegisteredUser(**UserView.of(user).model_dump(), api_token=api_token)
