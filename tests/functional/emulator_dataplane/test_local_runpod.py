"""The whole local RunPod as a user meets it: a v1 deploy script, then jobs served by the real
`python -m podkit.worker` with the network volume as its /runpod-volume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from podkit.emulator.server import LocalRunPod
from tests.functional.emulator_dataplane.harness import echo_command, wait_until

KEY = "user-story-key"


def _first_events(events: httpx.Response, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for line in events.iter_lines():
        if line.startswith("data:"):
            found.append(json.loads(line[5:]))
            if len(found) == count:
                break
    return found


def _deploy(api: httpx.Client) -> tuple[str, str]:
    volume = api.post(
        "/v1/networkvolumes", json={"name": "models", "size": 10, "dataCenterId": "US-KS-2"}
    ).json()
    template = api.post(
        "/v1/templates",
        json={"name": "gpu-check", "imageName": "acme/worker:1", "isServerless": True},
    ).json()
    endpoint = api.post(
        "/v1/endpoints",
        json={
            "name": "gpu-check",
            "templateId": template["id"],
            "gpuTypeIds": ["NVIDIA GeForce RTX 4090"],
            "networkVolumeId": volume["id"],
            "dataCenterIds": ["US-KS-2"],
            "workersMin": 0,
            "workersMax": 1,
        },
    )
    assert endpoint.status_code == 200, endpoint.text
    return endpoint.json()["id"], volume["id"]


def test_v1_deploy_then_podkit_worker_answers_runsync(local_runpod: LocalRunPod) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=local_runpod.url, headers=headers, timeout=120) as api:
        endpoint_id, volume_id = _deploy(api)
        models = local_runpod.backend.volume_dir(volume_id) / "models"
        models.mkdir(parents=True)
        (models / "tiny.bin").write_bytes(b"\0" * 1024)

        gpu = api.post(f"/v2/{endpoint_id}/runsync", json={"input": {"action": "gpu_info"}})
        listing = api.post(
            f"/v2/{endpoint_id}/runsync",
            json={"input": {"action": "list_files", "path": "/runpod-volume/models"}},
        ).json()
        workers = api.get(f"/v2/serverless/{endpoint_id}/workers").json()
        wid = workers["workers"][0]["id"]
        url = f"/v2/serverless/{endpoint_id}/workers/{wid}/logs"
        with api.stream("GET", url, params={"tail": "1000"}) as events:
            streamed = _first_events(events, 3)
    body: dict[str, Any] = gpu.json()
    assert body["status"] == "COMPLETED", body
    output = body["output"]
    assert output["gpus"][0]["name"] == "NVIDIA GeForce RTX 4090"
    assert "emulated" in output["gpu_info"]
    assert output["volume"]["path"] == "/runpod-volume" and output["volume"]["mounted"]
    assert listing["status"] == "COMPLETED", listing
    files = listing["output"]["files"]
    assert [(f["path"], f["size"]) for f in files] == [("/runpod-volume/models/tiny.bin", 1024)]
    assert workers["summary"]["total"] == 1
    worker = workers["workers"][0]
    assert worker["version"] == workers["endpointVersion"]
    lines = local_runpod.context.worker_view.logs(endpoint_id, worker["id"]) or []
    assert any("Starting Serverless Worker" in line.line for line in lines)
    assert not any(KEY in line.line for line in lines)  # the user's key never reaches a worker
    assert (streamed[0]["source"], streamed[0]["line"]) == ("system", "start container")
    assert streamed[1]["source"] == "container"
    assert streamed[1]["line"] == lines[1].line


def test_deleting_an_endpoint_stops_its_workers_and_jobs(local_runpod: LocalRunPod) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=local_runpod.url, headers=headers, timeout=60) as api:
        endpoint_id, _ = _deploy(api)
        api.patch(f"/v1/endpoints/{endpoint_id}", json={"workersMin": 1})
        wait_until(lambda: api.get(f"/v2/{endpoint_id}/health").json()["workers"]["idle"] == 1)
        api.delete(f"/v1/endpoints/{endpoint_id}")
        gone = api.get(f"/v2/{endpoint_id}/health")
    assert gone.status_code == 404
    wait_until(lambda: not local_runpod.context.worker_view.workers(endpoint_id))


def test_worker_crash_on_demand_over_the_admin_routes(local_runpod: LocalRunPod) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=local_runpod.url, headers=headers, timeout=60) as api:
        endpoint_id, _ = _deploy(api)
        command = {"command": echo_command()}
        refused = api.put(
            f"/_emulator/endpoints/{endpoint_id}/worker-command", json={**command, "env": {}}
        )
        assert refused.status_code == 400 and "'env'" in refused.json()["message"]
        api.put(f"/_emulator/endpoints/{endpoint_id}/worker-command", json=command)
        job = api.post(f"/v2/{endpoint_id}/run", json={"input": {"sleep": 30}}).json()

        def status() -> dict[str, Any]:
            body: dict[str, Any] = api.get(f"/v2/{endpoint_id}/status/{job['id']}").json()
            return body

        first = wait_until(lambda: (b := status())["status"] == "IN_PROGRESS" and b)
        killed = api.post(f"/_emulator/endpoints/{endpoint_id}/jobs/{job['id']}/kill-worker")
        assert killed.json() == {"killed": first["workerId"]}
        again = wait_until(
            lambda: (b := status()).get("workerId") not in (None, first["workerId"]) and b,
            timeout=30,
        )
        assert again["status"] == "IN_PROGRESS" and again["retries"] == 1
        missing = api.post(f"/_emulator/endpoints/{endpoint_id}/workers/nope/kill")
        api.post(f"/v2/{endpoint_id}/cancel/{job['id']}")
    assert missing.status_code == 404


def test_local_runpod_takes_data_plane_settings(tmp_path: Path) -> None:
    # Tests shorten the data plane's timers and limits through the in-process emulator.
    from podkit.emulator.dataplane import DataPlaneSettings

    settings = DataPlaneSettings(max_run_bytes=2_000)
    with LocalRunPod(state_dir=tmp_path, dataplane_settings=settings) as runpod:
        headers = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=runpod.url, headers=headers, timeout=30) as api:
            body = {
                "name": "limits",
                "type": "QUEUE",
                "image": "acme/worker:1",
                "gpu": {"pools": ["ADA_24"]},
                "scaling": {"type": "QUEUE_DELAY", "queueDelay": 2},
                "workers": {"min": 0, "max": 1},
            }
            created = api.post("/v2/serverless", json=body)
            assert created.status_code in (200, 201), created.text
            endpoint_id = created.json()["id"]
            big = api.post(f"/v2/{endpoint_id}/run", json={"input": {"pad": "x" * 3_000}})
    assert big.status_code == 413, big.text
