"""`podkit apply --wait --smoke` on the local RunPod: a failing release is rolled back by itself."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.jobs.conftest import ROOT, SECRET_KEY, api

IMAGE = "ghcr.io/acme/worker:{tag}@sha256:{digest}"
CONFIG = """
project = "gated"

[image]
ref = "{image}"

[worker]
env = {{ PYTHONPATH = "{root}", PODKIT_ACTIONS = "tests.functional.jobs.slow_actions", \
PODKIT_SKIP_CPUINFO = "true", RELEASE_MARKER = "good" }}

[endpoint]
gpu_types = ["NVIDIA GeForce RTX 4090"]
workers_min = 0
workers_max = 1

[[smoke]]
name = "right release"
input = {{ action = "release_marker" }}
expect = {{ marker = "good" }}
max_execution = "30s"
"""


def _endpoint(runpod: LocalRunPod, endpoint_id: str) -> dict[str, object]:
    with api(runpod) as client:
        body: dict[str, object] = client.get(f"/v2/serverless/{endpoint_id}").json()
    return body


def test_a_failing_smoke_test_leaves_the_endpoint_on_the_previous_release(
    cli_env: str,
    runpod_local: LocalRunPod,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = IMAGE.format(tag="1", digest="a" * 64)
    bad = IMAGE.format(tag="2", digest="b" * 64)
    config = tmp_path / "podkit.toml"
    config.write_text(CONFIG.format(image=good, root=ROOT))
    base = ["apply", "-c", str(config), "--yes", "--wait", "--smoke"]

    assert main(base) == 0, capsys.readouterr().err
    first = capsys.readouterr()
    assert "right release" in first.out and "pass" in first.out

    code = main([*base, "--image", bad, "--set", 'worker.env.RELEASE_MARKER="bad"'])
    out, err = capsys.readouterr()
    said = " ".join(err.split())  # the error line wraps at the terminal width
    assert code == 1, err
    assert "1 of 1 smoke test(s) failed on release v2" in said
    assert "right release: cold: output 'marker' is 'bad', expected 'good'" in said
    assert "rolled back to history record #1 (" in said and good in "".join(err.split())
    assert "live again as release v3" in said

    # Without --endpoint, podkit run finds the endpoint podkit.toml deployed.
    assert main(["run", "release_marker", "-c", str(config), "--json"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["output"] == {"marker": "good"}
    history = json.loads((tmp_path / ".podkit" / "history" / "gated-default.json").read_text())
    assert [r["source"].split(":")[0] for r in history["records"]] == ["apply", "apply", "rollback"]
    endpoint_id = history["records"][-1]["endpoint_id"]
    live = _endpoint(runpod_local, endpoint_id)
    assert live["image"] == good
    assert SECRET_KEY not in out + err + first.out + first.err


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_a_release_whose_workers_exit_at_start_fails_quoting_them_and_is_rolled_back(
    api: str,
    cli_env: str,
    runpod_local: LocalRunPod,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = IMAGE.format(tag="1", digest="c" * 64)
    bad = IMAGE.format(tag="2", digest="d" * 64)
    config = tmp_path / "podkit.toml"
    config.write_text(CONFIG.format(image=good, root=ROOT).replace('"gated"', '"crashy"'))
    base = ["apply", "-c", str(config), "--yes", "--wait", "--smoke", "--rollout-timeout", "2m"]
    base += ["--api", api]
    assert main(base) == 0, capsys.readouterr().err
    capsys.readouterr()

    # Every worker of the new release dies at start: its action module does not exist.
    broken = 'worker.env.PODKIT_ACTIONS="no_such_handler"'
    code = main([*base, "--image", bad, "--set", broken])
    out, err = capsys.readouterr()
    said = " ".join(err.split())
    assert code == 1, err
    assert "the workers of release v2 crash-loop" in said
    assert "no_such_handler" in said  # the worker's own last words
    assert "rolled back to history record #1" in said
    history = json.loads((tmp_path / ".podkit" / "history" / "crashy-default.json").read_text())
    assert [r["source"].split(":")[0] for r in history["records"]] == ["apply", "apply", "rollback"]
    live = _endpoint(runpod_local, history["records"][-1]["endpoint_id"])
    assert live["image"] == good
    assert SECRET_KEY not in out + err
    assert main(["destroy", "-c", str(config), "--yes", "--api", api]) == 0  # one shared quota


def test_ctrl_c_during_the_smoke_call_cancels_its_job_and_says_what_stays(
    cli_env: str, runpod_local: LocalRunPod, tmp_path: Path
) -> None:
    config = tmp_path / "podkit.toml"
    slow = CONFIG.format(image=IMAGE.format(tag="1", digest="e" * 64), root=ROOT)
    slow = slow.replace('"gated"', '"interrupted"').replace(
        'input = { action = "release_marker" }',
        'input = { action = "slow_steps", steps = 120, gap = 1 }',
    )
    config.write_text(slow)
    cmd = [sys.executable, "-m", "podkit.cli.main", "apply", "-c", str(config), "--yes", "--smoke"]
    env = {**os.environ, "COLUMNS": "300", "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env) as proc:
        assert proc.stderr is not None
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr], daemon=True).start()
        seen = ""
        while "step 1/120" not in seen:  # the smoke job runs on a worker
            seen += lines.get(timeout=120)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    time.sleep(0.5)  # let the reader thread drain what is left
    while not lines.empty():
        seen += lines.get()
    said = " ".join(seen.split())
    assert (
        "interrupted: release v1 of endpoint" in said and "go back with `podkit rollback`" in said
    )
    job_id = said.split("cancelled smoke job(s) ", 1)[1].split(";")[0]
    history = json.loads(
        (tmp_path / ".podkit" / "history" / "interrupted-default.json").read_text()
    )
    endpoint_id = history["records"][-1]["endpoint_id"]
    with api(runpod_local) as client:
        status = client.get(f"/v2/{endpoint_id}/status/{job_id}").json()["status"]
    assert status == "CANCELLED"
    assert main(["destroy", "-c", str(config), "--yes", "--lock-timeout", "30s"]) == 0
