"""A data plane served over real HTTP on a free loopback port (uvicorn in a thread)."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from podkit.emulator.dataplane import DataPlane, DataPlaneSettings, EndpointRuntime
from podkit.emulator.dataplane.auth import account_for_key
from podkit.emulator.server import server_config

ECHO_WORKER = Path(__file__).with_name("echo_worker.py")
KEY = "test-key-alpha"


def echo_command() -> list[str]:
    """The test echo worker as a worker command."""
    return [sys.executable, str(ECHO_WORKER)]


class Served:
    """A running data plane: `.url`, `.plane`, and a client helper per API key."""

    def __init__(self, plane: DataPlane, url: str) -> None:
        self.plane = plane
        self.url = url

    def endpoint(self, endpoint_id: str, *, key: str = KEY, **fields: Any) -> EndpointRuntime:
        """Create an endpoint owned by `key`'s account, running the echo worker by default."""
        fields.setdefault("worker_command", echo_command())
        runtime = EndpointRuntime(endpoint_id=endpoint_id, account=account_for_key(key), **fields)
        self.plane.endpoint_changed(runtime)
        return runtime

    def client(self, key: str | None = KEY) -> httpx.Client:
        """An HTTP client for the data plane, authenticated as `key`."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def wait_until(probe: Callable[[], Any], timeout: float = 60.0, every: float = 0.05) -> Any:
    """Poll `probe` until it returns something truthy (bounded in time: a worker process may
    take long to start while the whole suite loads two cores)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s")


@contextmanager
def serve_dataplane(
    state_dir: Path,
    *,
    settings: DataPlaneSettings | None = None,
    clock: Callable[[], float] | None = None,
) -> Iterator[Served]:
    """Serve a fresh data plane on 127.0.0.1:<free port> until the block ends."""
    extra: dict[str, Any] = {"clock": clock} if clock else {}
    plane = DataPlane(state_dir, settings=settings, seed=7, **extra)
    app = Starlette(routes=plane.routes())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(server_config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=10)
    url = f"http://127.0.0.1:{port}"
    plane.start(url)
    try:
        yield Served(plane, url)
    finally:
        plane.close()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
