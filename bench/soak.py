"""Long-run check, outside `make test` and `make bench`: jobs of at least 15 minutes complete.

`make soak` (or `python -m bench.soak [SECONDS]`, default 900) serves the local RunPod in
process and runs one job of SECONDS with a sync handler (it blocks the SDK's event loop the
whole time) and one with an async handler, at once, on two endpoints. Prints each job's final
status and times; exits 1 unless both COMPLETED with their output.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx

from podkit.emulator.server import LocalRunPod

WORKER = Path(__file__).with_name("echo_worker.py")
HEADERS = {"Authorization": "Bearer soak-key"}
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}


def _endpoint(api: httpx.Client, mode: str) -> str:
    template = api.post(
        "/v1/templates",
        json={
            "name": f"soak-{mode}",
            "imageName": "acme/echo:1",
            "isServerless": True,
            "env": {"ECHO_MODE": mode, "RUNPOD_LOG_LEVEL": "ERROR"},
        },
    ).json()
    body = {"name": f"soak-{mode}", "templateId": template["id"], "workersMax": 1}
    endpoint_id: str = api.post("/v1/endpoints", json=body).json()["id"]
    return endpoint_id


def main() -> None:
    """Run the long jobs and report; exit 1 on any failure."""
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 900.0
    policy = {"executionTimeout": int((seconds + 600) * 1000)}
    with (
        LocalRunPod(worker_command=[sys.executable, str(WORKER)]) as rp,
        httpx.Client(base_url=rp.url, headers=HEADERS, timeout=60) as api,
    ):
        jobs = {}
        started = time.monotonic()
        for mode in ("sync", "async"):
            endpoint_id = _endpoint(api, mode)
            body = {"input": {"sleep": seconds, "echo": mode}, "policy": policy}
            jobs[mode] = (endpoint_id, api.post(f"/v2/{endpoint_id}/run", json=body).json()["id"])
        results = {}
        deadline = started + seconds + 600
        while len(results) < len(jobs) and time.monotonic() < deadline:
            time.sleep(5)
            for mode, (endpoint_id, job_id) in jobs.items():
                status = api.get(f"/v2/{endpoint_id}/status/{job_id}").json()
                if mode not in results and status["status"] in FINAL:
                    results[mode] = status
                    print(
                        f"{mode:>5} handler, {seconds:.0f} s job: {status['status']} after "
                        f"{time.monotonic() - started:.0f} s, executionTime "
                        f"{status.get('executionTime', 0) / 1000:.0f} s, output "
                        f"{status.get('output')}",
                        flush=True,
                    )
    good = all(
        results.get(mode, {}).get("status") == "COMPLETED"
        and results[mode].get("output", {}).get("echo") == mode
        for mode in jobs
    )
    print("soak:", "ok" if good else "FAILED")
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
