"""Keel's use cases. Each takes a unit-of-work factory and opens its own unit per call."""

from application.use_cases.deposit_credits import DepositCredits, DepositCreditsCommand
from application.use_cases.get_wallet import GetWallet, GetWalletQuery
from application.use_cases.get_wallet_statement import (
    GetWalletStatement,
    StatementView,
    WalletStatementQuery,
)
from application.use_cases.open_wallet import OpenWallet, OpenWalletCommand
from application.use_cases.register_user import RegisterUser, RegisterUserCommand
from application.use_cases.transfer_credits import (
    TransferCredits,
    TransferCreditsCommand,
    TransferReceipt,
)

__all__ = [
    "DepositCredits",
    "DepositCreditsCommand",
    "GetWallet",
    "GetWalletQuery",
    "GetWalletStatement",
    "OpenWallet",
    "OpenWalletCommand",
    "RegisterUser",
    "RegisterUserCommand",
    "StatementView",
    "TransferCredits",
    "TransferCreditsCommand",
    "TransferReceipt",
    "WalletStatementQuery",
]
