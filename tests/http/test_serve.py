"""`keel serve` as a real process: it migrates its database, serves, and stops on SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infrastructure.database.migrations import head_revision
from tests.e2e.support import KEEL, Keel

STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    def __init__(self, process: subprocess.Popen[bytes], port: int, logs: Path) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.logs = logs

    def wait_until_ready(self) -> httpx.Response:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"keel serve exited early:\n{self.logs.read_text()}")
            try:
                response = httpx.get(f"{self.url}/readyz", timeout=2)
                if response.status_code == 200:
                    return response
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(
            f"keel serve was not ready within {STARTUP_SECONDS} s:\n{self.logs.read_text()}"
        )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    logs = tmp_path / "serve.log"
    environment = Keel(tmp_path / "keel.db").environment()
    with logs.open("wb") as log:
        process = subprocess.Popen(
            [str(KEEL), "serve", "--port", str(port)],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Server(process, port, logs)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_keel_serve_migrates_serves_and_stops_cleanly(server: Server, tmp_path: Path) -> None:
    ready = server.wait_until_ready()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        registered = client.post("/users", json={"email": "ada@example.com", "username": "ada"})
        token = registered.json()["api_token"]
        headers = {"Authorization": f"Bearer {token}"}
        opened = client.post("/wallets", headers=headers)
        wallet_id = opened.json()["id"]
        deposited = client.post(
            f"/wallets/{wallet_id}/deposits", headers=headers, json={"amount": "12.50"}
        )
        refused = client.get(f"/wallets/{wallet_id}")

    server.process.terminate()
    # Uvicorn shuts down gracefully, then re-raises the signal so that it exits as killed by it.
    assert server.process.wait(timeout=15) in (0, -signal.SIGTERM)

    assert ready.json()["revision"] == head_revision()
    assert (registered.status_code, opened.status_code, deposited.status_code) == (201, 201, 200)
    assert deposited.json()["balance"] == "12.50"
    assert refused.status_code == 401
    logs = server.logs.read_text()
    assert "POST /users" in logs  # the access log is on
    assert "Application shutdown complete" in logs
    assert token not in logs
    assert Keel(tmp_path / "keel.db").rows()["users"][0][2] == "ada"
