"""Control plane + data plane on one origin: a v1-configured endpoint answers `runsync`
through a real `runpod` SDK worker that sees the template's env and the network volume."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from podkit.emulator.server import LocalRunPod
from tests._deps import require

require("podkit.emulator.dataplane", reason="needs podkit.emulator.dataplane")

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


def test_the_user_script_end_to_end(local_runpod: LocalRunPod) -> None:
    """The issue's walk-through: v1 volume, template (env array refused, then right), endpoint
    with the volume; `runsync` gpu_info and list_files give the podkit worker's real output,
    and the `runpod` SDK's own client works against the emulator unmodified."""
    runpod = require("runpod")
    api = httpx.Client(
        base_url=local_runpod.url, timeout=60, headers={"Authorization": "Bearer user-key"}
    )
    vol = api.post("/v1/networkvolumes", json={"name": "m", "size": 10, "dataCenterId": "US-KS-2"})
    (local_runpod.backend.volume_dir(vol.json()["id"]) / "hello.txt").write_text("hi")
    tpl = {
        "name": "podkit-worker",
        "imageName": "ghcr.io/acme/podkit-worker:1",
        "isServerless": True,
    }
    refused = api.post("/v1/templates", json={**tpl, "env": ["HF_HOME=/runpod-volume/hf"]})
    assert refused.status_code == 400
    assert '{"HF_HOME": "..."}' in refused.json()["message"]
    created = api.post("/v1/templates", json={**tpl, "env": {"HF_HOME": "/runpod-volume/hf"}})
    ep = api.post(
        "/v1/endpoints",
        json={
            "templateId": created.json()["id"],
            "workersMax": 1,
            "networkVolumeId": vol.json()["id"],
        },
    ).json()

    gpu = api.post(f"/v2/{ep['id']}/runsync", json={"input": {"action": "gpu_info"}}).json()
    assert gpu["status"] == "COMPLETED" and "NVIDIA-SMI" in gpu["output"]["gpu_info"]
    listed = api.post(
        f"/v2/{ep['id']}/runsync",
        json={"input": {"action": "list_files", "path": "/runpod-volume"}},
    )
    files = listed.json()["output"]["files"]
    assert [(f["name"], f["path"]) for f in files] == [("hello.txt", "/runpod-volume/hello.txt")]

    saved = (runpod.api_key, runpod.endpoint_url_base)
    runpod.api_key, runpod.endpoint_url_base = "user-key", f"{local_runpod.url}/v2"
    try:
        out = runpod.Endpoint(ep["id"]).run_sync(
            {"action": "list_files", "path": "/runpod-volume"}, timeout=60
        )
    finally:
        runpod.api_key, runpod.endpoint_url_base = saved
    assert out["total_files"] == 1
    api.close()
