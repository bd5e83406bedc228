"""Jobs survive an emulator restart with the same state directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from podkit.emulator.server import LocalRunPod
from podkit.errors import EmulatorError
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


def test_an_old_jobs_json_is_imported_once(tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    state = tmp_path / "state"
    with LocalRunPod(state_dir=state, worker_command=echo_command()) as first:
        api = httpx.Client(base_url=first.url, headers=headers, timeout=60)
        parked = _endpoint(api, "parked", 0)
        api.close()
    old = {  # what versions before the job database wrote on a clean stop
        "format": 1,
        "counters": {parked: [2, 0, 0]},
        "jobs": [
            {
                "id": "old-job-u1",
                "endpointId": parked,
                "input": {"echo": "from json"},
                "policy": [600_000, 86_400_000, False],
                "sync": False,
                "webhook": None,
                "s3Config": None,
                "status": "IN_QUEUE",
                "workerId": None,
                "age": 3.0,
                "delay": None,
                "finishedAgo": None,
                "error": None,
                "stream": [],
                "retries": 0,
                "crashRequeues": 0,
            }
        ],
    }
    legacy = state / "dataplane" / "jobs.json"
    legacy.write_text(json.dumps(old))
    for _ in range(2):  # the second start reads the job from the database, not the file
        with LocalRunPod(state_dir=state, worker_command=echo_command()) as again:
            api = httpx.Client(base_url=again.url, headers=headers, timeout=60)
            assert _status(api, parked, "old-job-u1")["status"] == "IN_QUEUE"
            assert api.get(f"/v2/{parked}/health").json()["jobs"]["completed"] == 2
            api.close()
    assert not legacy.exists() and legacy.with_name("jobs.json.imported").exists()


def test_a_file_that_is_not_a_job_database_is_an_actionable_error(tmp_path: Path) -> None:
    (tmp_path / "dataplane").mkdir()
    (tmp_path / "dataplane" / "jobs.sqlite3").write_text("not a database, " * 100)
    with pytest.raises(EmulatorError, match=r"jobs\.sqlite3 is not a podkit job database"):
        LocalRunPod(state_dir=tmp_path)
