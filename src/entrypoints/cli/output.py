"""What the CLI prints: JSON for scripts, or short lines for people."""

from __future__ import annotations

import textwrap

import click

from application.models import Result
from application.use_cases import RegisteredUser, StatementView, TransferReceipt
from application.use_cases.tasks.changing import ChangedTasks
from application.use_cases.tasks.reading import TaskDetailsView, TaskPageView
from application.views import TaskView, UserView, WalletView

json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
idempotency_key_option = click.option(
    "--idempotency-key",
    help="Apply this command at most once: a repeat with the same key prints the first result.",
)


def show(result: Result, as_json: bool) -> None:
    click.echo(result.model_dump_json() if as_json else describe(result))


def describe(result: Result) -> str:
    match result:
        case RegisteredUser():
            return (
                f"user {result.id}: {result.username} <{result.email}>\n"
                f"api token (shown only now): {result.api_token}"
            )
        case UserView():
            return f"user {result.id}: {result.username} <{result.email}>"
        case WalletView():
            return f"wallet {result.id} of user {result.owner_id}: balance {result.balance}"
        case TransferReceipt():
            return (
                f"transferred {result.amount} (entry {result.entry_id}): "
                f"source balance {result.source_balance}, target balance {result.target_balance}"
            )
        case StatementView():
            return _describe_statement(result)
        case TaskView():
            return _describe_task(result)
        case TaskDetailsView():
            return _describe_task_details(result)
        case TaskPageView():
            return _describe_task_page(result)
        case ChangedTasks():
            return f"changed {result.changed} task{'' if result.changed == 1 else 's'}"
    raise TypeError(f"no description for {type(result).__name__}")


def _describe_statement(statement: StatementView) -> str:
    shown = f"{statement.offset + 1}-{statement.offset + len(statement.lines)}"
    lines = [
        f"wallet {statement.wallet_id}: balance {statement.balance}; "
        f"postings {shown if statement.lines else 'none'} of {statement.total}, newest first"
    ]
    lines += [
        f"  {line.created_at:%Y-%m-%d %H:%M:%S}  {line.kind.value:<8}"
        f"  {line.amount:>+16}  {line.entry_id}"
        for line in statement.lines
    ]
    return "\n".join(lines)


def _describe_task(task: TaskView) -> str:
    deleted = ", deleted" if task.deleted_at is not None else ""
    return (
        f"task {task.id}: {task.title} [{task.status.value}{deleted}] "
        f"bounty {task.bounty}, assignee {task.assignee_id or 'none'}"
    )


def _task_row(task: TaskView) -> str:
    """One task in a table: id, status, bounty, title."""
    deleted = " (deleted)" if task.deleted_at is not None else ""
    return f"  {task.id}  {task.status.value:<11}  {task.bounty:>12}  {task.title}{deleted}"


def _describe_task_details(details: TaskDetailsView) -> str:
    task = details.task
    lines = [
        _describe_task(task),
        f"  created by {task.creator_id} at {task.created_at:%Y-%m-%d %H:%M:%S}"
        f"; parent {task.parent_id or 'none'}",
    ]
    if task.description:
        lines.append(textwrap.indent(task.description, "  "))
    lines.append(f"subtasks: {len(details.subtasks) or 'none'}")
    lines += [_task_row(subtask) for subtask in details.subtasks]
    lines.append(f"depends on: {len(details.dependencies) or 'none'}")
    lines += [_task_row(dependency) for dependency in details.dependencies]
    return "\n".join(lines)


def _describe_task_page(page: TaskPageView) -> str:
    shown = f"{page.offset + 1}-{page.offset + len(page.tasks)}" if page.tasks else "none"
    return "\n".join([f"tasks {shown} of {page.total}", *map(_task_row, page.tasks)])
