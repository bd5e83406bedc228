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
    """Answers 500 to the first delivery, 200 afterwards; keeps every body and path."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.paths.append(self.path)
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
    assert receiver.paths == ["/hook", "/hook"]  # the URL as given, no "/" added


def test_webhook_is_posted_to_the_url_exactly_as_given(served: Served, receiver: Receiver) -> None:
    served.endpoint("exact", workers_min=1, workers_max=1)
    with served.client() as client:
        client.post(
            "/v2/exact/run",
            json={"input": {"echo": 1}, "webhook": f"{receiver.url}/in?token=abc"},
        ).raise_for_status()
        wait_until(lambda: len(receiver.paths) == 2, timeout=30)
    assert receiver.paths == ["/hook/in?token=abc"] * 2


def test_a_result_with_nan_fails_its_job_and_later_webhooks_still_go(
    served: Served, receiver: Receiver
) -> None:
    served.endpoint("nans", workers_min=1, workers_max=1)
    with served.client() as client:
        bad = client.post("/v2/nans/runsync", json={"input": {"nan": True}})
        assert bad.status_code == 200, bad.text
        assert bad.json()["status"] == "FAILED" and "not valid JSON" in bad.json()["error"]
        assert client.get(f"/v2/nans/status/{bad.json()['id']}").json()["status"] == "FAILED"
        refused = client.post("/v2/nans/run", content=b'{"input": {"x": NaN}}')
        assert refused.status_code == 400
        too_big = client.post("/v2/nans/run", content=b'{"input": {"x": 1e400}}')
        assert too_big.status_code == 400
        client.post(
            "/v2/nans/run", json={"input": {"echo": "after"}, "webhook": receiver.url}
        ).raise_for_status()
        wait_until(lambda: len(receiver.bodies) == 2, timeout=30)
    assert receiver.bodies[-1]["output"]["echo"] == "after"
