"""A throwaway PostgreSQL cluster for one test run.

pytest-postgresql would fit, but it runs `pg_ctl` as the current user and these machines run
tests as root, which `initdb` and `pg_ctl` refuse; so this module starts the cluster itself, as
the unprivileged `postgres` system user when the tests run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

UNPRIVILEGED_USER = "postgres"
SUPERUSER = "keel"


class PostgresUnavailable(Exception):
    """No PostgreSQL server could be started here; the message says why."""


def server_binaries() -> Path:
    """The directory holding initdb and pg_ctl, preferring the newest installed version."""
    on_path = shutil.which("pg_ctl")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    raise PostgresUnavailable("no PostgreSQL server binaries (initdb, pg_ctl) were found")


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a cluster on a free loopback port; yield a superuser URL; stop and remove it."""
    binaries = server_binaries()
    home = Path(tempfile.mkdtemp(prefix="keel-postgres-"))
    user = _server_user(home)
    port = _free_port()
    data, log = home / "data", home / "server.log"
    try:
        _run(
            user,
            binaries / "initdb",
            "-D",
            data,
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        # Durability is not under test here, so the server skips fsync to keep the suite fast.
        options = (
            f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c max_connections=200"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        _run(
            user,
            binaries / "pg_ctl",
            "-D",
            data,
            "-l",
            log,
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
    except PostgresUnavailable:
        shutil.rmtree(home, ignore_errors=True)
        raise
    try:
        yield f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
    finally:
        _run(user, binaries / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(home, ignore_errors=True)


def _server_user(home: Path) -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        shutil.chown(home, user=UNPRIVILEGED_USER, group=UNPRIVILEGED_USER)
    except LookupError:
        raise PostgresUnavailable(
            f"tests run as root and there is no {UNPRIVILEGED_USER!r} user to run PostgreSQL"
        ) from None
    return UNPRIVILEGED_USER


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(user: str | None, *command: object) -> None:
    completed = subprocess.run(
        [str(part) for part in command],
        user=user,
        group=user,
        extra_groups=[] if user else None,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if completed.returncode != 0:
        raise PostgresUnavailable(
            f"{Path(str(command[0])).name} failed: {completed.stderr.strip() or completed.stdout}"
        )
