"""`keel serve`: migrate the database, then serve the HTTP API until stopped."""

from __future__ import annotations

import click
import uvicorn

from entrypoints.cli.errors import reported_errors
from entrypoints.cli.runtime import database_label, load_settings, run_request
from entrypoints.container import build_container
from entrypoints.http import create_app
from infrastructure.database import migrations


@click.command(help="Migrate the database, then serve the HTTP API (docs at /docs).")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@reported_errors
def serve(host: str, port: int) -> None:
    status = run_request(
        lambda container: migrations.upgrade_with_backup(container.engine()), needs_schema=False
    )
    settings = load_settings()
    click.echo(
        f"database {database_label(settings)} is at revision {status.current}; "
        f"serving on http://{host}:{port} (docs at /docs)",
        err=True,
    )
    # Uvicorn runs the app's lifespan, which starts and stops the container's resources.
    uvicorn.run(create_app(build_container(settings)), host=host, port=port, log_level="info")
