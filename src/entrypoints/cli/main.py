"""`keel`: migrate the database and run Keel's use cases from a shell."""

from __future__ import annotations

from pathlib import Path

import click

from application.use_cases import (
    DepositCreditsCommand,
    GetWalletQuery,
    OpenWalletCommand,
    RegisterUserCommand,
    TransferCreditsCommand,
    WalletStatementQuery,
)
from entrypoints.cli.database import database, doctor
from entrypoints.cli.errors import reported_errors
from entrypoints.cli.outbox import outbox
from entrypoints.cli.output import idempotency_key_option, json_option, show
from entrypoints.cli.runtime import run_request, start_invocation
from entrypoints.cli.serve import serve
from entrypoints.cli.tasks import tasks


@click.group(help="Keel: a unit-of-work kernel. The database comes from KEEL_DATABASE_URL.")
@click.option(
    "--workspace",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="KEEL_WORKSPACE",
    help="Use the workspace's own database, DIR/.keel/keel.db, migrated on first use.",
)
@reported_errors
def cli(workspace: Path | None) -> None:
    start_invocation(workspace)


cli.add_command(database)
cli.add_command(doctor)
cli.add_command(tasks)
cli.add_command(outbox)
cli.add_command(serve)


@cli.group(help="Register users.")
def users() -> None:
    pass


@users.command(help="Register a new user.")
@click.option("--email", required=True)
@click.option("--username", required=True)
@json_option
@reported_errors
def register(email: str, username: str, as_json: bool) -> None:
    command = RegisterUserCommand.model_validate({"email": email, "username": username})
    show(
        run_request(lambda container: container.register_user()(command)),
        as_json,
    )


@cli.group(help="Open wallets and move credits.")
def wallets() -> None:
    pass


@wallets.command("open", help="Open the wallet of user OWNER_ID.")
@click.argument("owner_id")
@json_option
@idempotency_key_option
@reported_errors
def open_wallet(owner_id: str, as_json: bool, idempotency_key: str | None) -> None:
    command = OpenWalletCommand.model_validate({"owner_id": owner_id})
    show(
        run_request(
            lambda container: container.open_wallet()(command, idempotency_key=idempotency_key)
        ),
        as_json,
    )


@wallets.command(help="Mint AMOUNT credits into WALLET_ID.")
@click.argument("wallet_id")
@click.argument("amount")
@json_option
@idempotency_key_option
@reported_errors
def deposit(wallet_id: str, amount: str, as_json: bool, idempotency_key: str | None) -> None:
    command = DepositCreditsCommand.model_validate({"wallet_id": wallet_id, "amount": amount})
    show(
        run_request(
            lambda container: container.deposit_credits()(command, idempotency_key=idempotency_key)
        ),
        as_json,
    )


@wallets.command(help="Move AMOUNT credits from one wallet to another.")
@click.option("--from", "source", required=True, help="The wallet to take credits from.")
@click.option("--to", "target", required=True, help="The wallet to give credits to.")
@click.argument("amount")
@json_option
@idempotency_key_option
@reported_errors
def transfer(
    source: str, target: str, amount: str, as_json: bool, idempotency_key: str | None
) -> None:
    command = TransferCreditsCommand.model_validate(
        {"source_wallet_id": source, "target_wallet_id": target, "amount": amount}
    )
    show(
        run_request(
            lambda container: container.transfer_credits()(command, idempotency_key=idempotency_key)
        ),
        as_json,
    )


@wallets.command("show", help="Show a wallet's balance.")
@click.argument("wallet_id")
@json_option
@reported_errors
def show_wallet(wallet_id: str, as_json: bool) -> None:
    query = GetWalletQuery.model_validate({"wallet_id": wallet_id})
    show(run_request(lambda container: container.get_wallet()(query)), as_json)


@wallets.command(help="List a wallet's ledger postings, newest first.")
@click.argument("wallet_id")
@click.option("--limit", default=20, show_default=True, type=int)
@click.option("--offset", default=0, show_default=True, type=int)
@json_option
@reported_errors
def statement(wallet_id: str, limit: int, offset: int, as_json: bool) -> None:
    query = WalletStatementQuery.model_validate(
        {"wallet_id": wallet_id, "limit": limit, "offset": offset}
    )
    show(run_request(lambda container: container.get_wallet_statement()(query)), as_json)
