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


def _submit_all(client: httpx.Client) -> list[str]:
    return [
        client.post("/v2/bulk/run", json={"input": {"echo": n, "sleep": 0.2}}).json()["id"]
        for n in range(JOBS)
    ]


def _kill_a_busy_worker(served: Served) -> str:
    def busy() -> str | None:
        for worker_id in served.plane.supervisor.live_worker_ids("bulk"):
            record = served.plane.backend.worker(worker_id)
            if record is not None and record.jobs:
                return worker_id
        return None

    worker_id: str = wait_until(busy, timeout=30, every=0.01)
    assert served.plane.kill_worker(worker_id)
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
        ids = _submit_all(client)
        wait_until(lambda: client.get("/v2/bulk/health").json()["jobs"]["completed"] > 100)
        killed = _kill_a_busy_worker(served)

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
    assert health["jobs"]["retried"] == len(announced) > 0
    assert all(bodies[job_id]["workerId"] != killed for job_id in held)
