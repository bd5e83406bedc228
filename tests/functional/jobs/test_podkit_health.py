"""`podkit health` on the local RunPod: a healthy endpoint, and a crash-looping worker."""

from __future__ import annotations

import json
import sys

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

    assert main(["health", "--endpoint", endpoint_id, "--json", "--observe", "10"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
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
