"""`keel tasks`: create, import, list, change and export tasks."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from application.ports.task_queries import TaskSort
from application.use_cases.tasks.changing import (
    AddDependencyCommand,
    AssignTaskCommand,
    ChangeTaskStatusesCommand,
    TaskCommand,
)
from application.use_cases.tasks.creating import CreateTaskCommand
from application.use_cases.tasks.reading import GetTaskQuery, ListTasksQuery
from application.views import TaskView
from domain.tasks import TaskStatus
from entrypoints.cli.errors import reported_errors
from entrypoints.cli.output import idempotency_key_option, json_option, show
from entrypoints.cli.runtime import run_request
from entrypoints.cli.task_import import import_tasks
from entrypoints.container import Container


class IsoDateTime(click.ParamType[datetime, Any]):
    """An ISO 8601 date or time; without an offset it is read as UTC."""

    name = "ISO-8601"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date or time", param, ctx)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.group(help="Create, change, list and export tasks.")
def tasks() -> None:
    pass


tasks.add_command(import_tasks)


@tasks.command(help="Create a task; a bounty is escrowed from the creator's wallet.")
@click.option("--creator", "creator_id", required=True, help="The id of the creating user.")
@click.option("--title", required=True)
@click.option("--description", default="")
@click.option("--parent", "parent_id", help="The id of the task this one is a subtask of.")
@click.option(
    "--depends-on", "dependency_ids", multiple=True, help="A task this one waits for (repeatable)."
)
@click.option("--bounty", help="Credits paid to the assignee when the task is done.")
@json_option
@idempotency_key_option
@reported_errors
def create(
    creator_id: str,
    title: str,
    description: str,
    parent_id: str | None,
    dependency_ids: tuple[str, ...],
    bounty: str | None,
    as_json: bool,
    idempotency_key: str | None,
) -> None:
    command = CreateTaskCommand.model_validate(
        {
            "creator_id": creator_id,
            "title": title,
            "description": description,
            "parent_id": parent_id,
            "dependency_ids": list(dependency_ids),
            "bounty": bounty,
        }
    )
    show(
        run_request(
            lambda container: container.create_task()(command, idempotency_key=idempotency_key)
        ),
        as_json,
    )


@tasks.command("list", help="List the tasks that match, a page at a time, with the total.")
@click.option("--status", type=click.Choice([status.value for status in TaskStatus]))
@click.option("--assignee", "assignee_id", help="Only tasks assigned to this user.")
@click.option("--creator", "creator_id", help="Only tasks created by this user.")
@click.option("--parent", "parent_id", help="Only subtasks of this task.")
@click.option("--top-level", "top_level_only", is_flag=True, help="Only tasks without a parent.")
@click.option("--created-after", type=IsoDateTime(), help="UTC unless it has an offset.")
@click.option("--created-before", type=IsoDateTime(), help="UTC unless it has an offset.")
@click.option("--title-contains", help="Only tasks whose title contains this, in any case.")
@click.option("--include-deleted", is_flag=True, help="Also list deleted tasks.")
@click.option(
    "--sort",
    type=click.Choice([sort.value for sort in TaskSort]),
    default=TaskSort.CREATED_AT.value,
    show_default=True,
)
@click.option("--desc", "descending", is_flag=True, help="Sort in descending order.")
@click.option("--limit", default=50, show_default=True, type=int)
@click.option("--offset", default=0, show_default=True, type=int)
@json_option
@reported_errors
def list_tasks(as_json: bool, **filters: Any) -> None:
    if filters["parent_id"] is not None and filters["top_level_only"]:
        raise click.UsageError("--parent and --top-level exclude each other")
    query = ListTasksQuery.model_validate(filters)
    show(run_request(lambda container: container.list_tasks()(query)), as_json)


@tasks.command("show", help="Show a task with its subtasks and the tasks it depends on.")
@click.argument("task_id")
@json_option
@reported_errors
def show_task(task_id: str, as_json: bool) -> None:
    query = GetTaskQuery.model_validate({"task_id": task_id})
    show(run_request(lambda container: container.get_task()(query)), as_json)


@tasks.command(help="Give an open task to a user.")
@click.argument("task_id")
@click.option("--to", "assignee_id", required=True, help="The id of the user to assign.")
@json_option
@idempotency_key_option
@reported_errors
def assign(task_id: str, assignee_id: str, as_json: bool, idempotency_key: str | None) -> None:
    command = AssignTaskCommand.model_validate({"task_id": task_id, "assignee_id": assignee_id})
    show(
        run_request(
            lambda container: container.assign_task()(command, idempotency_key=idempotency_key)
        ),
        as_json,
    )


def _task_command(name: str, description: str, use_case: Callable[[Container], Any]) -> None:
    """`keel tasks NAME TASK_ID`: one task, one use case, the task as it is afterwards."""

    @tasks.command(name, help=description)
    @click.argument("task_id")
    @json_option
    @idempotency_key_option
    @reported_errors
    def run(task_id: str, as_json: bool, idempotency_key: str | None) -> None:
        command = TaskCommand.model_validate({"task_id": task_id})
        view: TaskView = run_request(
            lambda container: use_case(container)(command, idempotency_key=idempotency_key)
        )
        show(view, as_json)


_task_command("start", "Start an assigned task.", lambda c: c.start_task())
_task_command(
    "complete",
    "Complete a started task and pay its bounty to the assignee.",
    lambda c: c.complete_task(),
)
_task_command(
    "cancel", "Cancel an open task and refund its bounty to the creator.", lambda c: c.cancel_task()
)
_task_command(
    "delete", "Delete a task; it leaves lists until it is restored.", lambda c: c.delete_task()
)
_task_command("restore", "Restore a deleted task.", lambda c: c.restore_task())


@tasks.command(help="Make a task wait for another; a dependency cycle is refused.")
@click.argument("task_id")
@click.option("--on", "depends_on_id", required=True, help="The id of the task to wait for.")
@json_option
@idempotency_key_option
@reported_errors
def depend(task_id: str, depends_on_id: str, as_json: bool, idempotency_key: str | None) -> None:
    command = AddDependencyCommand.model_validate(
        {"task_id": task_id, "depends_on_id": depends_on_id}
    )
    show(
        run_request(
            lambda container: container.add_dependency()(command, idempotency_key=idempotency_key)
        ),
        as_json,
    )


@tasks.command(
    "set-status",
    help="Move every TASK_ID to STATUS, all or nothing; print how many changed.",
    short_help="Move many tasks to one status, all or nothing.",
)
@click.argument(
    "status",
    type=click.Choice(
        [TaskStatus.IN_PROGRESS.value, TaskStatus.DONE.value, TaskStatus.CANCELLED.value]
    ),
)
@click.argument("task_ids", metavar="TASK_ID...", nargs=-1, required=True)
@json_option
@idempotency_key_option
@reported_errors
def set_status(
    status: str, task_ids: tuple[str, ...], as_json: bool, idempotency_key: str | None
) -> None:
    command = ChangeTaskStatusesCommand.model_validate(
        {"status": status, "task_ids": list(task_ids)}
    )
    show(
        run_request(
            lambda container: container.change_task_statuses()(
                command, idempotency_key=idempotency_key
            )
        ),
        as_json,
    )


@tasks.command(help="Write every task, oldest first, to stdout as JSON lines.")
@reported_errors
def export() -> None:
    async def write_all(container: Container) -> None:
        views = container.export_tasks()()
        try:
            async for view in views:
                sys.stdout.write(view.model_dump_json() + "\n")
            sys.stdout.flush()
        finally:
            # Closing the stream now ends its unit of work before the engine is disposed of.
            await views.aclose()

    try:
        run_request(write_all)
    except BrokenPipeError:
        # `keel tasks export | head`: stop quietly, with the status of a process that SIGPIPE
        # ended; devnull takes the place of stdout so that flushing at exit cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(128 + signal.SIGPIPE) from None
