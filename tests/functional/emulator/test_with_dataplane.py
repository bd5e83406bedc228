"""Control plane + data plane on one origin: a v1-configured endpoint answers `runsync`
through a real `runpod` SDK worker that sees the template's env and the network volume."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from podkit.emulator.server import LocalRunPod

pytest.importorskip("podkit.emulator.dataplane", reason="needs podkit.emulator.dataplane")

HANDLER = Path(__file__).with_name("echo_handler.py")


def test_v1_endpoint_runs_jobs_on_a_real_sdk_worker(local_runpod: LocalRunPod) -> None:
    api = httpx.Client(
        base_url=local_runpod.url, timeout=60, headers={"Authorization": "Bearer dp-key"}
    )
    vol = api.post("/v1/networkvolumes", json={"name": "m", "size": 10, "dataCenterId": "US-KS-2"})
    (local_runpod.backend.volume_dir(vol.json()["id"]) / "model.safetensors").write_bytes(b"x")
    tpl = api.post(
        "/v1/templates",
        json={
            "name": "echo",
            "imageName": "local/echo",
            "isServerless": True,
            "env": {"GREETING": "hi"},
        },
    )
    ep = api.post(
        "/v1/endpoints",
        json={"templateId": tpl.json()["id"], "workersMax": 1, "networkVolumeId": vol.json()["id"]},
    ).json()
    local_runpod.backend.set_worker_command(ep["id"], [sys.executable, str(HANDLER)])

    done = api.post(f"/v2/{ep['id']}/runsync", json={"input": {"action": "list_files"}})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "COMPLETED"
    assert done.json()["output"] == {
        "input": {"action": "list_files"},
        "greeting": "hi",
        "files": ["model.safetensors"],
    }

    workers = api.get(f"/v2/serverless/{ep['id']}/workers").json()
    assert workers["summary"]["total"] == 1 and workers["endpointVersion"] == 1
    foreign = httpx.post(
        f"{local_runpod.url}/v2/{ep['id']}/runsync",
        json={"input": {}},
        headers={"Authorization": "Bearer someone-else"},
    )
    assert foreign.status_code == 404
    api.close()
