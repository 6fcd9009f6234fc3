"""Hostile commands for the use cases of the task board."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from pydantic import ValidationError

from application.errors import BatchItemRefused
from domain.errors import (
    Conflict,
    DependencyCycle,
    DependencyNotDone,
    IllegalTransition,
    InactiveUser,
    InsufficientFunds,
    NotFound,
)
from tests.hostile.cases import Case, invalid, one_of, refused, with_extra_field
from tests.hostile.values import (
    SQL_LOOKING,
    bad_amounts,
    bad_descriptions,
    bad_titles,
    malformed_ids,
    unknown_ids,
)
from tests.hostile.wallet_cases import beyond_alice
from tests.hostile.world import Ref

ALL_TASKS = one_of(
    Ref.TODO_TASK,
    Ref.BLOCKER_TASK,
    Ref.STARTED_TASK,
    Ref.DONE_TASK,
    Ref.CANCELLED_TASK,
    Ref.DELETED_TASK,
)
CLOSED_OR_DELETED = one_of(Ref.DONE_TASK, Ref.CANCELLED_TASK, Ref.DELETED_TASK)
NOT_DELETED = one_of(
    Ref.TODO_TASK, Ref.BLOCKER_TASK, Ref.STARTED_TASK, Ref.DONE_TASK, Ref.CANCELLED_TASK
)


def task_change(use_case: str, illegal: st.SearchStrategy[Ref]) -> st.SearchStrategy[Case]:
    """A change of one task: malformed, unknown, or in a state that does not allow it."""
    return st.one_of(
        invalid(use_case, "task_id", malformed_ids),
        refused(use_case, (NotFound,), task_id=unknown_ids),
        refused(use_case, (IllegalTransition,), task_id=illegal),
        with_extra_field(use_case, task_id=Ref.TODO_TASK),
    )


def create_task_cases(use_case: str = "create_task") -> st.SearchStrategy[Case]:
    valid: dict[str, Any] = {"creator_id": Ref.ALICE, "title": "Hostile"}
    return st.one_of(
        invalid(use_case, "title", bad_titles, **valid),
        invalid(use_case, "description", bad_descriptions, **valid),
        invalid(use_case, "bounty", bad_amounts.filter(lambda v: v is not None), **valid),
        invalid(use_case, "creator_id", malformed_ids, title="Hostile"),
        invalid(use_case, "parent_id", malformed_ids, **valid),
        invalid(use_case, "dependency_ids", malformed_ids.map(lambda bad: [bad]), **valid),
        invalid(use_case, "dependency_ids", st.just([Ref.TODO_TASK] * 1001), **valid),
        # SQL in a title is only text; an unknown creator refuses the task all the same.
        refused(use_case, (NotFound,), creator_id=unknown_ids, title=st.sampled_from(SQL_LOOKING)),
        refused(use_case, (InactiveUser,), creator_id=st.just(Ref.INACTIVE), title=st.just("t")),
        refused(use_case, (NotFound,), **_valid(valid), parent_id=unknown_ids),
        refused(use_case, (NotFound,), **_valid(valid), dependency_ids=unknown_ids.map(_listed)),
        refused(
            use_case, (IllegalTransition,), **_valid(valid), parent_id=st.just(Ref.DELETED_TASK)
        ),
        refused(
            use_case,
            (IllegalTransition,),
            **_valid(valid),
            dependency_ids=st.just([Ref.DELETED_TASK]),
        ),
        refused(use_case, (InsufficientFunds,), **_valid(valid), bounty=beyond_alice),
        refused(
            use_case,
            (NotFound,),
            creator_id=st.just(Ref.WALLETLESS),
            title=st.just("Hostile"),
            bounty=st.just("1"),
        ),
        refused(use_case, (Conflict,), **_valid(valid), task_id=ALL_TASKS),
        refused(
            use_case,
            (DependencyCycle,),
            **_valid(valid),
            task_id=st.just(Ref.TODO_TASK),
            dependency_ids=st.just([Ref.TODO_TASK]),
        ),
        with_extra_field(use_case, **valid),
    )


def _valid(fields: dict[str, Any]) -> dict[str, st.SearchStrategy[Any]]:
    return {name: st.just(value) for name, value in fields.items()}


def _listed(value: Any) -> list[Any]:
    return [value]


def batches() -> st.SearchStrategy[Case]:
    """A batch whose first task is fine and whose second is not: nothing of it may be written."""
    fine = {"creator_id": Ref.ALICE, "title": "Fine", "bounty": "1"}
    return st.one_of(
        st.just(Case("create_tasks", {"tasks": []}, (ValidationError,), "tasks")),
        create_task_cases().map(
            lambda case: Case(
                "create_tasks",
                {"tasks": [fine, case.payload]},
                case.refusals if case.field else (BatchItemRefused, *case.refusals),
                case.field and "tasks",
            )
        ),
    )


TASK_COMMANDS: dict[str, st.SearchStrategy[Case]] = {
    "create_task": create_task_cases(),
    "create_tasks": batches(),
    "assign_task": st.one_of(
        task_change("assign_task", CLOSED_OR_DELETED).map(
            lambda case: Case(
                case.use_case, {"assignee_id": Ref.BOB, **case.payload}, case.refusals, case.field
            )
        ),
        invalid("assign_task", "assignee_id", malformed_ids, task_id=Ref.TODO_TASK),
        refused(
            "assign_task", (NotFound,), task_id=st.just(Ref.TODO_TASK), assignee_id=unknown_ids
        ),
        refused(
            "assign_task",
            (InactiveUser,),
            task_id=st.just(Ref.TODO_TASK),
            assignee_id=st.just(Ref.INACTIVE),
        ),
    ),
    # The todo task has no assignee; the others have left "todo" or were deleted.
    "start_task": task_change(
        "start_task", one_of(Ref.TODO_TASK, Ref.STARTED_TASK) | CLOSED_OR_DELETED
    ),
    "complete_task": st.one_of(
        task_change("complete_task", one_of(Ref.TODO_TASK, Ref.BLOCKER_TASK) | CLOSED_OR_DELETED),
        refused("complete_task", (DependencyNotDone,), task_id=st.just(Ref.STARTED_TASK)),
    ),
    "cancel_task": task_change("cancel_task", CLOSED_OR_DELETED),
    "delete_task": task_change("delete_task", st.just(Ref.DELETED_TASK)),
    "restore_task": task_change("restore_task", NOT_DELETED),
    "add_dependency": st.one_of(
        task_change("add_dependency", CLOSED_OR_DELETED).map(
            lambda case: Case(
                case.use_case,
                {"depends_on_id": Ref.TODO_TASK, **case.payload},
                case.refusals,
                case.field,
            )
        ),
        invalid("add_dependency", "depends_on_id", malformed_ids, task_id=Ref.TODO_TASK),
        refused(
            "add_dependency", (NotFound,), task_id=st.just(Ref.TODO_TASK), depends_on_id=unknown_ids
        ),
        refused(
            "add_dependency",
            (IllegalTransition,),
            task_id=st.just(Ref.TODO_TASK),
            depends_on_id=st.just(Ref.DELETED_TASK),
        ),
        # The started task waits for the blocker, which waits for the todo task.
        st.sampled_from(
            [
                (Ref.TODO_TASK, Ref.TODO_TASK),
                (Ref.TODO_TASK, Ref.BLOCKER_TASK),
                (Ref.TODO_TASK, Ref.STARTED_TASK),
                (Ref.BLOCKER_TASK, Ref.STARTED_TASK),
            ]
        ).map(
            lambda pair: Case(
                "add_dependency",
                {"task_id": pair[0], "depends_on_id": pair[1]},
                (DependencyCycle,),
            )
        ),
    ),
    "change_task_statuses": st.one_of(
        invalid("change_task_statuses", "task_ids", st.just([]), status="cancelled"),
        invalid(
            "change_task_statuses",
            "status",
            st.sampled_from(["todo", "deleted", "DONE", "", None, 3]),
            task_ids=[Ref.TODO_TASK],
        ),
        invalid(
            "change_task_statuses",
            "task_ids",
            malformed_ids.map(lambda bad: [Ref.TODO_TASK, bad]),
            status="cancelled",
        ),
        refused(
            "change_task_statuses",
            (NotFound,),
            task_ids=unknown_ids.map(lambda unknown: [Ref.TODO_TASK, unknown]),
            status=st.just("cancelled"),
        ),
        # All or nothing: the todo task could be cancelled, the other cannot (a task that is
        # cancelled already would just stay as it is).
        refused(
            "change_task_statuses",
            (IllegalTransition,),
            task_ids=one_of(Ref.DONE_TASK, Ref.DELETED_TASK).map(lambda bad: [Ref.TODO_TASK, bad]),
            status=st.just("cancelled"),
        ),
        refused(
            "change_task_statuses",
            (IllegalTransition, DependencyNotDone),
            task_ids=st.just([Ref.STARTED_TASK, Ref.TODO_TASK]),
            status=st.just("done"),
        ),
    ),
}
