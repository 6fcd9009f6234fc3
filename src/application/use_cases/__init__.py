"""Keel's use cases. Each takes a unit-of-work factory and opens its own unit per call."""

from application.use_cases.authenticate_user import AuthenticateUser, AuthenticateUserQuery
from application.use_cases.deposit_credits import DepositCredits, DepositCreditsCommand
from application.use_cases.get_wallet import GetWallet, GetWalletQuery
from application.use_cases.get_wallet_statement import (
    GetWalletStatement,
    StatementView,
    WalletStatementQuery,
)
from application.use_cases.open_wallet import OpenWallet, OpenWalletCommand
from application.use_cases.register_user import (
    RegisteredUser,
    RegisterUser,
    RegisterUserCommand,
)
from application.use_cases.transfer_credits import (
    TransferCredits,
    TransferCreditsCommand,
    TransferReceipt,
)

__all__ = [
    "AuthenticateUser",
    "AuthenticateUserQuery",
    "DepositCredits",
    "DepositCreditsCommand",
    "GetWallet",
    "GetWalletQuery",
    "GetWalletStatement",
    "OpenWallet",
    "OpenWalletCommand",
    "RegisterUser",
    "RegisterUserCommand",
    "RegisteredUser",
    "StatementView",
    "TransferCredits",
    "TransferCreditsCommand",
    "TransferReceipt",
    "WalletStatementQuery",
]
