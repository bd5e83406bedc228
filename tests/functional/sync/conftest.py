"""Session fixtures for the model-sync test bed: nginx, fake-gcs-server, moto, a fault proxy.

Servers start once per session on free loopback ports and are stopped by PID. When one is
missing, tests skip locally and fail under CI=true (a missing part must never pass silently).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests.functional.sync.faultproxy import FaultProxy
from tests.functional.sync.scripted import Answer, ScriptedServer, Seen
from tests.functional.sync.testbed import FakeGcs, MissingTool, Moto, Nginx

T = TypeVar("T")


def _start(factory: Callable[[], T]) -> T:
    try:
        return factory()
    except MissingTool as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"test bed part missing under CI: {exc}")
        pytest.skip(f"test bed part missing: {exc}")


@pytest.fixture(scope="session")
def sync_nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    server = _start(lambda: Nginx(tmp_path_factory.mktemp("nginx")).start())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGcs]:
    server = _start(lambda: FakeGcs(tmp_path_factory.mktemp("fgcs")).start())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[Moto]:
    server = _start(lambda: Moto().start())
    yield server
    server.stop()


@pytest.fixture
def fault_proxy(sync_nginx: Nginx) -> Iterator[FaultProxy]:
    proxy = FaultProxy("127.0.0.1", sync_nginx.ports.http).start()
    yield proxy
    proxy.stop()
    # A held body is let go by what the test waits for; its time bound only ends a broken run.
    assert proxy.stats.holds_timed_out == 0, "a held body was never let go"


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    path = tmp_path / "volume"
    path.mkdir()
    return path


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Seen], Answer]], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(script: Callable[[Seen], Answer]) -> ScriptedServer:
        servers.append(ScriptedServer(script))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
