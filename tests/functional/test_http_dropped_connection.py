"""The retry policy against a real loopback server that reads a request, then hangs up.

That is the one failure a mock transport cannot stand for: the server has the whole request
(a POST may have committed) and the client gets no answer. Retrying a POST then risks a
second copy of whatever it created, so podkit must not; an idempotent method may be retried.
"""

from __future__ import annotations

import random
import socket
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import pytest

from podkit._http import HttpClient, RetryPolicy
from podkit.errors import TransportError


@dataclass
class Seen:
    """What the server read: one (method, path, body) per request, in order."""

    requests: list[tuple[str, str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _read_request(rfile: BinaryIO) -> tuple[str, str, bytes]:
    method, path, _ = rfile.readline().decode("latin-1").split(" ", 2)
    length = 0
    while line := rfile.readline().decode("latin-1").strip():
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return method, path, rfile.read(length) if length else b""


class HangUpServer(socketserver.ThreadingTCPServer):
    """Reads each request in full, records it, and closes the connection without a reply."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.seen = Seen()
        super().__init__(("127.0.0.1", 0), _HangUp)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _HangUp(socketserver.StreamRequestHandler):
    server: HangUpServer

    def handle(self) -> None:
        request = _read_request(self.rfile)
        with self.server.seen.lock:
            self.server.seen.requests.append(request)
        # An abortive close: the client sees the connection drop, never a status line.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        self.connection.close()


@pytest.fixture
def hang_up() -> Iterator[HangUpServer]:
    server = HangUpServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _client(url: str, sleeps: list[float]) -> HttpClient:
    return HttpClient(
        url,
        sleep=sleeps.append,
        rng=random.Random(3),
        timeout=10.0,
        retry=RetryPolicy(attempts=4, base_delay=0.1, max_delay=5.0),
    )


def test_a_post_whose_connection_drops_after_the_request_is_not_sent_again(
    hang_up: HangUpServer,
) -> None:
    sleeps: list[float] = []
    with _client(hang_up.url, sleeps) as client:
        with pytest.raises(TransportError, match=r"POST http://127\.0\.0\.1:\d+/v2/endpoints"):
            client.request("POST", "/v2/endpoints", json={"name": "ep"})
        assert client.stats.retries == 0
    assert hang_up.seen.requests == [("POST", "/v2/endpoints", b'{"name":"ep"}')]
    assert sleeps == []


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_an_idempotent_request_whose_connection_drops_is_retried(
    hang_up: HangUpServer, method: str
) -> None:
    sleeps: list[float] = []
    with _client(hang_up.url, sleeps) as client, pytest.raises(TransportError):
        client.request(method, "/v2/endpoints/ep1")
    assert [m for m, _, _ in hang_up.seen.requests] == [method] * 4
    assert len(sleeps) == 3


def test_a_post_to_a_closed_local_port_fails_at_once_and_says_what_to_start() -> None:
    """Nothing listens on a loopback port: no retry can help, so the first refusal says to start
    the local RunPod (a never-sent POST to a remote host is retried: see test_http_policy)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []
    with (
        _client(f"http://127.0.0.1:{port}", sleeps) as client,
        pytest.raises(TransportError) as refused,
    ):
        client.request("POST", "/v2/endpoints", json={})
    assert client.stats.requests == 1
    assert sleeps == []
    assert f"127.0.0.1:{port}" in str(refused.value)
    assert refused.value.hint is not None and "podkit emulator start" in refused.value.hint
