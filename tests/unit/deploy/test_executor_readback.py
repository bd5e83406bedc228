"""Read-back verification: a write the server accepts but does not keep fails loudly.

The local RunPod keeps what it accepts, so this one case uses httpx.MockTransport: a server
that silently clamps `workers.max` to 2, as the live platform does to idle endpoints.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from podkit._http import NO_RETRY
from podkit.deploy.desired import build_desired
from podkit.deploy.executor import Executor
from podkit.deploy.model import Snapshot
from podkit.deploy.planner import plan
from podkit.errors import DeployError
from podkit.runpod import ApiKey, connect
from podkit.runpod.types.v2 import GpuType
from tests.unit.deploy.conftest import deployment


class ClampingServer:
    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST":
            body = json.loads(request.content)
            oid = f"id{len(self.objects)}"
            if path.endswith("serverless"):
                body["workers"]["max"] = min(body["workers"]["max"], 2)
                body["gpu"].setdefault("excludedTypes", [])
            self.objects[oid] = {"id": oid, "createdAt": "2026-01-01T00:00:00Z", **body}
            return httpx.Response(201, json=self.objects[oid])
        oid = path.rsplit("/", 1)[-1]
        return httpx.Response(200, json=self.objects[oid])


def test_a_dropped_field_fails_the_apply_naming_it(catalog: list[GpuType]) -> None:
    dep = deployment(endpoint={"gpu_types": ["NVIDIA L4"], "workers_max": 4,
                               "execution_timeout": 3600.0})  # fmt: skip
    desired = build_desired(dep, api="v2", catalog=catalog)
    server = ClampingServer()
    client = connect(
        "v2", target="http://127.0.0.1:9", key=ApiKey("k" * 8, "t"),
        transport=httpx.MockTransport(server), retry=NO_RETRY,
    )  # fmt: skip
    with pytest.raises(DeployError) as info:
        Executor(client).apply(plan(desired, Snapshot()), Snapshot())
    message = str(info.value)
    assert "endpoint gpu-worker-staging (id1): the server did not keep workers.max" in message
    assert "sent 4, server has 2" in message
    assert client.stats.writes == 2  # the volume, then the endpoint; nothing after the failure
