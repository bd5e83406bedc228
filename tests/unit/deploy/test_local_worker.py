"""`[local] worker_command` reaches only a local RunPod: RunPod itself gets no request, and an
origin without the local RunPod's admin route fails the apply saying what to do."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from podkit._http import NO_RETRY
from podkit.config.local import LocalWorker
from podkit.deploy.local_worker import set_local_worker
from podkit.errors import DeployError
from podkit.runpod import ApiKey, connect
from podkit.runpod.target import RUNPOD

WORKER = LocalWorker(("python", "-u", "app.py"), Path("/srv/project"), python="/opt/py/bin/python")


class Server:
    """Answers every request with `status`, keeping what was asked."""

    def __init__(self, status: int, body: object = None) -> None:
        self.status, self.body = status, body
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return httpx.Response(self.status, json=self.body)


def test_runpod_itself_gets_no_request() -> None:
    server = Server(200)
    with connect(
        "v2", target=RUNPOD, key=ApiKey("k" * 8, "t"), transport=httpx.MockTransport(server)
    ) as client:
        assert set_local_worker(client, "ep1", WORKER) is False
    assert server.seen == []


def test_without_the_key_nothing_is_sent() -> None:
    server = Server(200)
    with connect(
        "v2", target="http://127.0.0.1:9", key=ApiKey("k" * 8, "t"),
        transport=httpx.MockTransport(server),
    ) as client:  # fmt: skip
        assert set_local_worker(client, "ep1", None) is False
    assert server.seen == []


def test_a_local_runpod_gets_the_command_and_the_directory() -> None:
    server = Server(200, {"ok": True})
    said: list[str] = []
    with connect(
        "v2", target="http://127.0.0.1:9", key=ApiKey("k" * 8, "t"),
        transport=httpx.MockTransport(server),
    ) as client:  # fmt: skip
        assert set_local_worker(client, "ep1", WORKER, progress=said.append) is True
    (request,) = server.seen
    assert (request.method, request.url.path) == ("PUT", "/_emulator/endpoints/ep1/worker-command")
    assert json.loads(request.content) == {
        "command": ["/opt/py/bin/python", "-u", "app.py"], "cwd": "/srv/project",
    }  # fmt: skip
    assert said == [
        "local RunPod: the workers of ep1 run `python -u app.py` in /srv/project "
        "(python: /opt/py/bin/python)"
    ]


def test_an_origin_without_the_admin_route_fails_naming_the_key_and_the_fix() -> None:
    server = Server(404, {"message": "Not Found"})
    with connect(
        "v2", target="http://127.0.0.1:9", key=ApiKey("k" * 8, "t"),
        transport=httpx.MockTransport(server), retry=NO_RETRY,
    ) as client, pytest.raises(DeployError) as caught:  # fmt: skip
        set_local_worker(client, "ep1", WORKER)
    said = " ".join(str(caught.value).split())
    assert "[local] worker_command was not set on endpoint ep1 at http://127.0.0.1:9" in said
    assert "(404: " in said and "the endpoint is applied" in said
    assert "point --target (PODKIT_TARGET) at a local RunPod" in said
