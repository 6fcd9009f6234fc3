"""Wallets and credits: open, deposit, transfer, balance and statement.

Only a wallet's owner may see it, deposit into it or move credits out of it; anyone may be
the target of a transfer. Ownership is read first with `GetWallet`: a wallet never changes
owner, so the check cannot go stale before the writing use case runs.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, status

from application.models import MAX_OFFSET, Amount, Command
from application.use_cases import (
    DepositCreditsCommand,
    GetWalletQuery,
    OpenWalletCommand,
    StatementView,
    TransferCreditsCommand,
    TransferReceipt,
    WalletStatementQuery,
)
from application.use_cases.get_wallet_statement import MAX_PAGE_SIZE
from application.views import UserView, WalletView
from entrypoints.container import Container
from entrypoints.http.auth import CurrentUser, require
from entrypoints.http.dependencies import IdempotencyKey, Keel, scoped_key
from entrypoints.http.pagination import PageLinks, page_links
from entrypoints.http.problems import problem_responses

router = APIRouter(tags=["wallets"])


class Deposit(Command):
    amount: Amount


class PagedStatement(StatementView):
    links: PageLinks


async def owned_wallet(keel: Container, wallet_id: UUID, user: UserView) -> WalletView:
    """The wallet, or 404; 403 unless `user` owns it."""
    wallet: WalletView = await keel.get_wallet()(GetWalletQuery(wallet_id=wallet_id))
    require(wallet.owner_id == user.id, f"wallet {wallet_id} belongs to another user")
    return wallet


@router.post(
    "/wallets",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 409, 422, 503),
    summary="Open the caller's wallet, empty; a user has at most one",
)
async def open_wallet(
    keel: Keel, user: CurrentUser, idempotency_key: IdempotencyKey = None
) -> WalletView:
    use_case = keel.open_wallet()
    wallet: WalletView = await use_case(
        OpenWalletCommand(owner_id=user.id), idempotency_key=scoped_key(user.id, idempotency_key)
    )
    return wallet


@router.get(
    "/wallets/{wallet_id}",
    responses=problem_responses(401, 403, 404, 422, 503),
    summary="A wallet's balance; owner only",
)
async def show_wallet(wallet_id: UUID, keel: Keel, user: CurrentUser) -> WalletView:
    return await owned_wallet(keel, wallet_id, user)


@router.get(
    "/wallets/{wallet_id}/statement",
    responses=problem_responses(401, 403, 404, 422, 503),
    summary="A wallet's ledger postings, newest first, a page at a time; owner only",
)
async def show_statement(
    wallet_id: UUID,
    request: Request,
    keel: Keel,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> PagedStatement:
    await owned_wallet(keel, wallet_id, user)
    query = WalletStatementQuery(wallet_id=wallet_id, limit=limit, offset=offset)
    statement: StatementView = await keel.get_wallet_statement()(query)
    links = page_links(request, limit=limit, offset=offset, total=statement.total)
    return PagedStatement(**statement.model_dump(), links=links)


@router.post(
    "/wallets/{wallet_id}/deposits",
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
    summary="Mint credits into the caller's own wallet",
)
async def deposit(
    wallet_id: UUID,
    body: Deposit,
    keel: Keel,
    user: CurrentUser,
    idempotency_key: IdempotencyKey = None,
) -> WalletView:
    await owned_wallet(keel, wallet_id, user)
    use_case = keel.deposit_credits()
    wallet: WalletView = await use_case(
        DepositCreditsCommand(wallet_id=wallet_id, amount=body.amount),
        idempotency_key=scoped_key(user.id, idempotency_key),
    )
    return wallet


@router.post(
    "/transfers",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
    summary="Move credits out of the caller's wallet into any other",
)
async def transfer(
    command: TransferCreditsCommand,
    keel: Keel,
    user: CurrentUser,
    idempotency_key: IdempotencyKey = None,
) -> TransferReceipt:
    await owned_wallet(keel, command.source_wallet_id, user)
    use_case = keel.transfer_credits()
    receipt: TransferReceipt = await use_case(
        command, idempotency_key=scoped_key(user.id, idempotency_key)
    )
    return receipt
