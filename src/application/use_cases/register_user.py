from application.models import Command, Email, Username
from application.ports.unit_of_work import UnitOfWorkFactory
from application.views import UserView
from domain.users import User


class RegisterUserCommand(Command):
    email: Email
    username: Username


class RegisterUser:
    """Register a new, active user. A taken email or username is a `Conflict`."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def __call__(self, command: RegisterUserCommand) -> UserView:
        async with self._uow_factory() as uow:
            user = User.register(command.email, command.username)
            await uow.users.add(user)
            await uow.commit()
        return UserView.of(user)
