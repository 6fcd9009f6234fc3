"""A small world of users, wallets and tasks in every state, for hostile commands to aim at.

Hostile commands refer to its members by name (`Ref.DONE_TASK`); the world turns the names into
the ids it stored. It is built through Keel's use cases, except the deactivation of a user,
which no use case offers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.use_cases import DepositCreditsCommand, OpenWalletCommand, RegisterUserCommand
from application.use_cases.tasks.changing import (
    AddDependencyCommand,
    AssignTaskCommand,
    TaskCommand,
)
from application.use_cases.tasks.creating import CreateTaskCommand
from entrypoints.container import Container

FUNDS = Decimal("100.00")
BOUNTY = Decimal("10.00")
ALICE_BALANCE = FUNDS - 6 * BOUNTY + BOUNTY
"""Alice funded six bounties; the cancelled task's came back, the done task's went to Bob."""


class Ref(enum.Enum):
    ALICE = "alice"
    ALICE_WALLET = "alice's wallet"
    BOB = "bob"
    BOB_WALLET = "bob's wallet"
    WALLETLESS = "a user without a wallet"
    INACTIVE = "a deactivated user"
    TODO_TASK = "a todo task with a bounty and no assignee, that the blocker waits for"
    BLOCKER_TASK = "a todo task assigned to bob, that the started task waits for"
    STARTED_TASK = "an in-progress task assigned to bob, waiting for the blocker"
    DONE_TASK = "a done task"
    CANCELLED_TASK = "a cancelled task"
    DELETED_TASK = "a deleted task"

    def __repr__(self) -> str:
        return f"Ref.{self.name}"


@dataclass(frozen=True)
class World:
    ids: dict[Ref, UUID]

    def resolve(self, value: Any) -> Any:
        """`value` with every `Ref` in it, however deep, replaced by the id it names."""
        if isinstance(value, Ref):
            return self.ids[value]
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value


async def build_world(keel: Container) -> World:
    ids: dict[Ref, UUID] = {}
    for ref, name in ((Ref.ALICE, "alice"), (Ref.BOB, "bob"), (Ref.WALLETLESS, "walt")):
        command = RegisterUserCommand(email=f"{name}@example.com", username=name)
        ids[ref] = (await keel.register_user()(command)).id
    inactive = RegisterUserCommand(email="ina@example.com", username="ina")
    ids[Ref.INACTIVE] = (await keel.register_user()(inactive)).id
    async with keel.uow() as uow:
        (await uow.users.get(ids[Ref.INACTIVE])).deactivate()
        await uow.commit()

    for owner, wallet in ((Ref.ALICE, Ref.ALICE_WALLET), (Ref.BOB, Ref.BOB_WALLET)):
        ids[wallet] = (await keel.open_wallet()(OpenWalletCommand(owner_id=ids[owner]))).id
        deposit = {"wallet_id": ids[wallet], "amount": FUNDS}
        await keel.deposit_credits()(DepositCreditsCommand.model_validate(deposit))

    async def create(ref: Ref, depends_on: tuple[Ref, ...] = ()) -> None:
        command = CreateTaskCommand.model_validate(
            {
                "creator_id": ids[Ref.ALICE],
                "title": ref.value,
                "dependency_ids": [ids[other] for other in depends_on],
                "bounty": BOUNTY,
            }
        )
        ids[ref] = (await keel.create_task()(command)).id

    def task(ref: Ref) -> TaskCommand:
        return TaskCommand(task_id=ids[ref])

    def assign_to_bob(ref: Ref) -> AssignTaskCommand:
        return AssignTaskCommand(task_id=ids[ref], assignee_id=ids[Ref.BOB])

    await create(Ref.TODO_TASK)
    await create(Ref.BLOCKER_TASK, (Ref.TODO_TASK,))
    await keel.assign_task()(assign_to_bob(Ref.BLOCKER_TASK))
    await create(Ref.STARTED_TASK)
    await keel.add_dependency()(
        AddDependencyCommand(task_id=ids[Ref.STARTED_TASK], depends_on_id=ids[Ref.BLOCKER_TASK])
    )
    await keel.assign_task()(assign_to_bob(Ref.STARTED_TASK))
    await keel.start_task()(task(Ref.STARTED_TASK))
    await create(Ref.DONE_TASK)
    await keel.assign_task()(assign_to_bob(Ref.DONE_TASK))
    await keel.start_task()(task(Ref.DONE_TASK))
    await keel.complete_task()(task(Ref.DONE_TASK))
    await create(Ref.CANCELLED_TASK)
    await keel.cancel_task()(task(Ref.CANCELLED_TASK))
    await create(Ref.DELETED_TASK)
    await keel.delete_task()(task(Ref.DELETED_TASK))
    return World(ids)
