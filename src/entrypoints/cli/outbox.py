"""`keel outbox`: deliver committed events to the handlers named by KEEL_EVENT_HANDLERS."""

from __future__ import annotations

import asyncio
import json
import signal

import click

from application.events.delivery import DeliveryReport
from application.ports.outbox import OutboxCounts
from entrypoints.cli.errors import reported_errors
from entrypoints.cli.output import json_option
from entrypoints.cli.runtime import run_request
from entrypoints.container import Container


@click.group(help="Deliver the events that committed units wrote to the outbox.")
def outbox() -> None:
    pass


@outbox.command(
    help="Deliver every pending message that is due, then exit; with --follow, keep watching "
    "until interrupted. A failed delivery is retried later with a growing delay.",
    short_help="Deliver pending events to their handlers.",
)
@click.option("--follow", is_flag=True, help="Keep delivering new messages until stopped.")
@click.option("--poll-seconds", default=1.0, show_default=True, type=click.FloatRange(min=0.01))
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(min=1))
@json_option
@reported_errors
def relay(follow: bool, poll_seconds: float, batch_size: int, as_json: bool) -> None:
    def progress(report: DeliveryReport) -> None:
        click.echo(f"delivered {report.delivered}, failed {report.failed}", err=True)

    async def deliver(container: Container) -> DeliveryReport:
        outbox_relay = container.outbox_relay()
        if not follow:
            return await outbox_relay.drain(batch_size=batch_size, progress=progress)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(stop_signal, stop.set)
        return await outbox_relay.follow(
            stop, poll_seconds=poll_seconds, batch_size=batch_size, progress=progress
        )

    report = run_request(deliver)
    summary = {"delivered": report.delivered, "failed": report.failed, "given_up": report.given_up}
    click.echo(
        json.dumps(summary)
        if as_json
        else f"delivered {report.delivered}, failed {report.failed}, gave up on {report.given_up}"
    )


@outbox.command(help="Count the outbox's messages: pending, done and failed.")
@json_option
@reported_errors
def status(as_json: bool) -> None:
    async def count(container: Container) -> OutboxCounts:
        async with container.uow(read_only=True) as uow:
            return await uow.outbox.counts()

    counts = run_request(count)
    click.echo(
        json.dumps({"pending": counts.pending, "done": counts.done, "failed": counts.failed})
        if as_json
        else f"pending {counts.pending}, done {counts.done}, failed {counts.failed}"
    )
