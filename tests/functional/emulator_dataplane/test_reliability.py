"""1,000 jobs over 5 workers, one worker killed mid-run: every job final, none lost or rerun
without being announced (`retries` on the job, `retried` in `/health`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from podkit.emulator.dataplane import FINAL_STATES
from tests.functional.emulator_dataplane.harness import Served, wait_until

JOBS = 1_000


def _submit_all(client: httpx.Client, gate: Path) -> list[str]:
    """JOBS jobs; the first one waits for `gate`, so its worker surely holds it when killed."""
    inputs = [{"echo": n, "sleep": 0.2} for n in range(JOBS)]
    inputs[0]["wait_for"] = str(gate)
    return [client.post("/v2/bulk/run", json={"input": i}).json()["id"] for i in inputs]


def _kill_the_worker_running(served: Served, client: httpx.Client, job_id: str) -> str:
    def running() -> bool:
        return bool(client.get(f"/v2/bulk/status/{job_id}").json()["status"] == "IN_PROGRESS")

    wait_until(running, timeout=60, every=0.05)
    worker_id = served.plane.kill_worker_running("bulk", job_id)
    assert worker_id is not None
    return worker_id


def test_thousand_jobs_with_a_worker_killed_mid_run(served: Served, tmp_path: Path) -> None:
    log = tmp_path / "executions.log"
    served.endpoint(
        "bulk",
        workers_min=5,
        workers_max=5,
        env={"ECHO_CONCURRENCY": "50", "ECHO_EXEC_LOG": str(log)},
    )
    wait_until(lambda: served.plane.backend.health("bulk")["workers"]["idle"] == 5, timeout=30)
    with served.client() as client:
        gate = tmp_path / "gate"
        ids = _submit_all(client, gate)
        wait_until(lambda: client.get("/v2/bulk/health").json()["jobs"]["completed"] > 100)
        killed = _kill_the_worker_running(served, client, ids[0])
        gate.touch()  # the first job's retry runs through

        def drained() -> bool:
            jobs = client.get("/v2/bulk/health").json()["jobs"]
            return jobs["inQueue"] == 0 and jobs["inProgress"] == 0

        wait_until(drained, timeout=120, every=0.2)
        bodies: dict[str, dict[str, Any]] = {
            job_id: client.get(f"/v2/bulk/status/{job_id}").json() for job_id in ids
        }
        health = client.get("/v2/bulk/health").json()
    record = served.plane.backend.worker(killed)
    assert record is not None
    held = set(record.orphaned)

    assert all(body["status"] in FINAL_STATES for body in bodies.values())
    assert Counter(body["status"] for body in bodies.values()) == {"COMPLETED": JOBS}
    assert {body["output"]["echo"] for body in bodies.values()} == set(range(JOBS))
    runs = Counter(log.read_text().split())
    assert set(runs) == set(ids)
    rerun = {job_id for job_id, count in runs.items() if count > 1}
    announced = {job_id for job_id, body in bodies.items() if body.get("retries")}
    assert rerun <= announced == held
    assert ids[0] in held and health["jobs"]["retried"] == len(announced) > 0
    assert all(bodies[job_id]["workerId"] != killed for job_id in held)
