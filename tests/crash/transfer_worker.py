"""A process that transfers credits between wallets until it is killed.

    python transfer_worker.py DATABASE_URL ACK_LOG SEED WALLET_ID WALLET_ID [WALLET_ID...]

It prints `started` on stdout once Keel's container is running, then transfers random amounts
between random pairs of the wallets through Keel's public use case. Only after the use case
returned does it acknowledge the transfer: the receipt's ledger entry id, one line in ACK_LOG,
written with a single write(2) and fsynced before the next transfer begins. So every line of
ACK_LOG names a transfer that Keel reported as committed.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from uuid import UUID

from application.use_cases import TransferCreditsCommand
from domain.errors import InsufficientFunds
from entrypoints.container import build_container, running
from infrastructure.settings import KeelSettings

STARTED = "started"
LARGEST_AMOUNT_IN_HUNDREDTHS = 5000


def acknowledge(ack_log: int, entry_id: UUID) -> None:
    # One write of a whole line, then fsync: a kill leaves either the line or nothing of it.
    os.write(ack_log, f"{entry_id}\n".encode())
    os.fsync(ack_log)


async def transfer_until_killed(
    database_url: str, ack_log_path: str, seed: int, wallet_ids: list[UUID]
) -> None:
    rng = random.Random(seed)
    settings = KeelSettings.model_validate({"database_url": database_url})
    ack_log = os.open(ack_log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    async with running(build_container(settings)) as keel:
        transfer = keel.transfer_credits()
        print(STARTED, flush=True)
        while True:
            source, target = rng.sample(wallet_ids, 2)
            amount = f"{rng.randint(1, LARGEST_AMOUNT_IN_HUNDREDTHS) / 100:.2f}"
            command = TransferCreditsCommand.model_validate(
                {"source_wallet_id": source, "target_wallet_id": target, "amount": amount}
            )
            try:
                receipt = await transfer(command)
            except InsufficientFunds:
                continue  # refused, so nothing was written and there is nothing to acknowledge
            acknowledge(ack_log, receipt.entry_id)


def main(arguments: list[str]) -> None:
    database_url, ack_log_path, seed, *wallet_ids = arguments
    asyncio.run(
        transfer_until_killed(
            database_url, ack_log_path, int(seed), [UUID(wallet) for wallet in wallet_ids]
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
