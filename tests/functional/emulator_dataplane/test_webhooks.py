"""Job webhooks: the `/status` body POSTed to a receiver on loopback, retried after a non-200."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.functional.emulator_dataplane.harness import Served, wait_until


class Receiver(ThreadingHTTPServer):
    """Answers 500 to the first delivery, 200 afterwards; keeps every body."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(500 if len(self.server.bodies) == 1 else 200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_webhook_gets_the_status_body_and_is_retried(served: Served, receiver: Receiver) -> None:
    served.endpoint("hooks", workers_min=1, workers_max=1)
    with served.client() as client:
        job = client.post(
            "/v2/hooks/run", json={"input": {"echo": "hooked"}, "webhook": receiver.url}
        ).json()
        wait_until(lambda: len(receiver.bodies) == 2, timeout=30)
        status = client.get(f"/v2/hooks/status/{job['id']}").json()
    first, second = receiver.bodies
    assert first == second == status
    assert status["status"] == "COMPLETED" and status["output"]["echo"] == "hooked"
