"""Jobs survive an emulator restart with the same state directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from podkit.emulator.server import LocalRunPod
from tests.functional.emulator_dataplane.harness import echo_command, wait_until

KEY = "restart-key"


def _endpoint(api: httpx.Client, name: str, workers_max: int) -> str:
    template = api.post(
        "/v1/templates", json={"name": name, "imageName": "acme/echo:1", "isServerless": True}
    ).json()
    endpoint = api.post(
        "/v1/endpoints",
        json={"name": name, "templateId": template["id"], "workersMax": workers_max},
    ).json()
    endpoint_id: str = endpoint["id"]
    return endpoint_id


def _status(api: httpx.Client, endpoint_id: str, job_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api.get(f"/v2/{endpoint_id}/status/{job_id}").json()
    return body


def test_queued_running_and_finished_jobs_survive_a_restart(tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    state = tmp_path / "state"
    with LocalRunPod(state_dir=state, worker_command=echo_command()) as first:
        api = httpx.Client(base_url=first.url, headers=headers, timeout=60)
        busy = _endpoint(api, "busy", 1)
        parked = _endpoint(api, "parked", 0)
        done = api.post(f"/v2/{busy}/runsync", json={"input": {"echo": "kept"}}).json()
        running = api.post(f"/v2/{busy}/run", json={"input": {"sleep": 30}}).json()
        wait_until(lambda: _status(api, busy, running["id"])["status"] == "IN_PROGRESS")
        queued = api.post(f"/v2/{parked}/run", json={"input": {"echo": "later"}}).json()
        api.close()
    with LocalRunPod(state_dir=state, worker_command=echo_command()) as second:
        api = httpx.Client(base_url=second.url, headers=headers, timeout=60)
        assert _status(api, busy, done["id"])["output"]["echo"] == "kept"
        assert _status(api, parked, queued["id"])["status"] == "IN_QUEUE"
        rerun = _status(api, busy, running["id"])
        assert rerun["status"] in ("IN_QUEUE", "IN_PROGRESS") and rerun["retries"] == 1
        api.post(f"/v2/{busy}/cancel/{running['id']}")
        api.patch(f"/v1/endpoints/{parked}", json={"workersMax": 1})
        later = wait_until(
            lambda: (b := _status(api, parked, queued["id"]))["status"] == "COMPLETED" and b,
            timeout=30,
        )
        api.close()
    assert later["output"]["echo"] == "later"
