"""What the CLI prints: JSON for scripts, or short lines for people."""

from __future__ import annotations

import click

from application.models import Result
from application.use_cases import StatementView, TransferReceipt
from application.views import UserView, WalletView


def show(result: Result, as_json: bool) -> None:
    click.echo(result.model_dump_json() if as_json else describe(result))


def describe(result: Result) -> str:
    match result:
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
