"""`podkit health` on the local RunPod: a healthy endpoint, and a crash-looping worker."""

from __future__ import annotations

import json
import re
import sys
import time

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.jobs.conftest import SECRET_KEY, api, create_endpoint

# A container that dies while loading, as a bad image or a missing model does.
CRASHING = [
    sys.executable,
    "-c",
    "import sys, time; print('loading model', flush=True); time.sleep(0.6); "
    "print('CUDA error: out of memory', flush=True); sys.exit(1)",
]


def test_queued_jobs_with_restarting_workers_are_called_a_crash_loop(
    cli_env: str, runpod_local: LocalRunPod, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint_id = create_endpoint(runpod_local, "crashy", workers_min=0, workers_max=1)
    runpod_local.backend.set_worker_command(endpoint_id, CRASHING)
    with api(runpod_local) as client:
        client.post(f"/v2/{endpoint_id}/run", json={"input": {"action": "gpu_info"}})

    # The watch ends as soon as two workers died young; the bound only stops a broken run, so
    # a slow machine takes longer but sees the same count.
    assert main(["health", "--endpoint", endpoint_id, "--json", "--observe", "120"]) == 3
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert set(report["workers_died_young"]) <= set(report["crash_loop"])
    assert report["jobs"]["inQueue"] == 1
    assert len(report["workers_died_young"]) >= 2
    finding = report["findings"][0]
    assert "crash-looping" in finding and "not missing capacity" in finding
    assert "CUDA error: out of memory" in finding
    assert SECRET_KEY not in out + err


def test_a_ready_endpoint_reports_its_workers_and_no_findings(
    cli_env: str, runpod_local: LocalRunPod, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint_id = create_endpoint(runpod_local, "ready", workers_min=1, workers_max=1)
    assert main(["run", "gpu_info", "--endpoint", endpoint_id]) == 0
    capsys.readouterr()
    assert main(["health", "--endpoint", endpoint_id]) == 0
    out = capsys.readouterr().out
    assert "completed 1" in out and "idle 1" in out
    assert "!" not in out
    assert re.search(r"IDLE +up \d+ s", out), out  # the uptime the worker list reports


def test_a_worker_that_died_before_ready_stays_listed_unhealthy_with_its_lifecycle_lines(
    cli_env: str, runpod_local: LocalRunPod, capsys: pytest.CaptureFixture[str]
) -> None:
    # Between two starts of a crash loop the backoff leaves no live worker; the dead one
    # stays listed, so one look (no watching) names the crash loop and quotes its output.
    endpoint_id = create_endpoint(runpod_local, "unhealthy", workers_min=0, workers_max=1)
    runpod_local.backend.set_worker_command(endpoint_id, CRASHING)
    with api(runpod_local) as client:
        client.post(f"/v2/{endpoint_id}/run", json={"input": {"action": "gpu_info"}})
        deadline = time.monotonic() + 30
        listed: list[dict[str, object]] = []
        while time.monotonic() < deadline and not listed:
            workers = client.get(f"/v2/serverless/{endpoint_id}/workers").json()["workers"]
            listed = [w for w in workers if w["status"] == "UNHEALTHY"]
            time.sleep(0.2)
    assert listed, "a failed start was never listed as UNHEALTHY"
    worker_id = str(listed[0]["id"])

    assert main(["health", "--endpoint", endpoint_id, "--json", "--observe", "0"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert worker_id in report["crash_loop"]
    finding = report["findings"][0]
    assert "crash-looping" in finding and "CUDA error: out of memory" in finding
    assert report["workers"].get("unhealthy", 0) >= 1
    with api(runpod_local) as client:  # /health, as the runpod SDK reads it, agrees
        health = client.get(f"/v2/{endpoint_id}/health").json()
    assert health["workers"]["unhealthy"] >= 1

    assert main(["logs", "--endpoint", endpoint_id, "--worker", worker_id, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    system = [r["line"] for r in rows if r["source"] == "system"]
    assert system[0] == "start container" and system[-1] == "remove container (exit code 1)"
    assert "CUDA error: out of memory" in [r["line"] for r in rows if r["source"] == "container"]
    with api(runpod_local) as client:  # the package shares one account and its worker quota
        assert client.delete(f"/v2/serverless/{endpoint_id}").status_code in (200, 204)
