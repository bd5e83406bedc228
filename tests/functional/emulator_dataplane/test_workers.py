"""Worker lifecycle: crashes, scaling, and the `runpod` SDK's own client against the plane."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest

from podkit.emulator.dataplane import FINAL_STATES
from tests.functional.emulator_dataplane.harness import KEY, Served, wait_until


def _status(served: Served, endpoint: str, job_id: str) -> dict[str, Any]:
    with served.client() as client:
        body: dict[str, Any] = client.get(f"/v2/{endpoint}/status/{job_id}").json()
    return body


def test_crashed_worker_is_replaced_and_its_job_requeued_once_then_failed(
    served: Served,
) -> None:
    served.endpoint("crashy", workers_min=1, workers_max=1, idle_timeout_s=60)
    with served.client() as client:
        job = client.post("/v2/crashy/run", json={"input": {"sleep": 20}}).json()
    running = wait_until(lambda: _status(served, "crashy", job["id"]).get("workerId"))
    assert served.plane.kill_worker_running("crashy", job["id"]) == running

    def rerun() -> dict[str, Any] | None:
        body = _status(served, "crashy", job["id"])
        moved = body["status"] == "IN_PROGRESS" and body["workerId"] != running
        return body if moved else None

    second = wait_until(rerun, timeout=30)
    assert second["retries"] == 1
    assert served.plane.kill_worker_running("crashy", job["id"]) == second["workerId"]
    failed = wait_until(
        lambda: (b := _status(served, "crashy", job["id"]))["status"] in FINAL_STATES and b
    )
    assert failed["status"] == "FAILED"
    assert "exited unexpectedly" in failed["error"]
    # The endpoint keeps its warm worker: a fresh one takes the next job.
    with served.client() as client:
        after = client.post("/v2/crashy/runsync", json={"input": {"echo": "alive"}}).json()
    assert after["output"]["echo"] == "alive"


def test_workers_scale_up_under_queue_pressure_and_stop_when_idle(served: Served) -> None:
    served.endpoint("scale", workers_min=0, workers_max=2, idle_timeout_s=1)
    with served.client() as client:
        ids = [
            client.post("/v2/scale/run", json={"input": {"sleep": 1.5, "echo": i}}).json()["id"]
            for i in range(2)
        ]

        def all_done() -> list[dict[str, Any]] | None:
            bodies = [client.get(f"/v2/scale/status/{i}").json() for i in ids]
            return bodies if all(b["status"] == "COMPLETED" for b in bodies) else None

        done = wait_until(all_done, timeout=30)
    assert len({body["workerId"] for body in done}) == 2
    wait_until(lambda: not served.plane.supervisor.live_worker_ids("scale"), timeout=30)
    assert served.plane.workers("scale") == []


def test_runpod_sdk_client_run_sync_against_the_plane(served: Served) -> None:
    import runpod

    served.endpoint("sdk", workers_min=1, workers_max=1)
    runpod.api_key = KEY
    runpod.endpoint_url_base = f"{served.url}/v2"
    endpoint = runpod.Endpoint("sdk")
    assert endpoint.run_sync({"echo": "from-sdk"}, timeout=60)["echo"] == "from-sdk"
    job = endpoint.run({"input": {"echo": "async"}})
    assert job.output(timeout=60)["echo"] == "async"
    assert endpoint.health()["jobs"]["completed"] == 2


def test_a_worker_that_cannot_start_is_reported_and_retried_with_backoff(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    broken = [sys.executable, "-c", "raise SystemExit('no module named handler')"]
    served.endpoint("broken", workers_min=1, workers_max=1, worker_command=broken)
    with caplog.at_level(logging.WARNING, logger="podkit.emulator.dataplane"):
        wait_until(lambda: "no module named handler" in caplog.text, timeout=20)
    assert "exited with code 1 before taking a job" in caplog.text
    served.plane.endpoint_deleted("broken")


@pytest.mark.parametrize(
    ("env", "named"),
    [({"A=B": "x"}, "'A=B'"), ({"": "x"}, "''"), ({"TOKEN": "s3cret\0tail"}, "TOKEN")],
)
def test_an_env_no_process_can_have_is_reported_and_other_endpoints_keep_their_workers(
    served: Served, caplog: pytest.LogCaptureFixture, env: dict[str, str], named: str
) -> None:
    served.endpoint("badenv", workers_min=1, workers_max=1, env=env)
    with caplog.at_level(logging.WARNING, logger="podkit.emulator.dataplane"):
        wait_until(lambda: "could not start worker command" in caplog.text, timeout=20)
        served.endpoint("goodenv", workers_min=0, workers_max=1)
        with served.client() as client:
            body = client.post("/v2/goodenv/runsync", json={"input": {"echo": "on"}}).json()
    assert body["status"] == "COMPLETED" and body["output"]["echo"] == "on"
    assert named in caplog.text
    assert "s3cret" not in caplog.text
    served.plane.endpoint_deleted("badenv")
    served.plane.endpoint_deleted("goodenv")


def test_refresh_worker_result_recycles_the_worker(served: Served) -> None:
    served.endpoint("fresh", workers_min=1, workers_max=1)
    with served.client() as client:
        body = client.post(
            "/v2/fresh/runsync", json={"input": {"refresh": True, "echo": "once"}}
        ).json()
    assert body["status"] == "COMPLETED" and body["output"] == {"echo": "once"}
    wait_until(
        lambda: served.plane.supervisor.live_worker_ids("fresh") not in ([], [body["workerId"]])
    )
    with served.client() as client:
        after = client.post("/v2/fresh/runsync", json={"input": {"echo": "new"}}).json()
    assert after["workerId"] != body["workerId"]
