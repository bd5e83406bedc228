"""`podkit test`: [[smoke]] tests against a scale-to-zero endpoint, cold then warm."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.jobs.conftest import SECRET_KEY, api, create_endpoint

CONFIG = """
project = "jobs-test"

[image]
ref = "ghcr.io/acme/worker:1.0@sha256:{digest}"

[endpoint]
gpu_types = ["NVIDIA GeForce RTX 4090"]

[[smoke]]
name = "steps"
input = {{ action = "slow_steps", steps = 1, gap = 0 }}
expect = {{ done = true, steps = 1 }}
max_execution = "30s"

[[smoke]]
name = "volume listing"
input = {{ action = "list_files", path = "/runpod-volume" }}
expect_keys = ["files"]
"""

# A smoke job that goes on for ten minutes: still running when podkit gives up on it.
SLOW = CONFIG.format(digest="0" * 64).replace("steps = 1, gap = 0", "steps = 600, gap = 1")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "podkit.toml"
    path.write_text(CONFIG.format(digest="0" * 64))
    return path


def test_smoke_report_shows_cold_and_warm_timings_in_the_ci_summary(
    cli_env: str,
    runpod_local: LocalRunPod,
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    zero = create_endpoint(runpod_local, "zero", files={"models/a.bin": b"x"})
    summary = tmp_path / "step-summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    report = tmp_path / "smoke.md"
    args = ["test", "-c", str(config), "--endpoint", zero, "--markdown", str(report)]

    code = main([*args, "--only", "steps", "--only", "volume listing"])
    out, err = capsys.readouterr()

    assert code == 0, err
    text = report.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| steps") or "volume" in line]
    assert len(rows) == 2
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[1].endswith("pass")
        assert all(cell != "-" for cell in cells[2:6]), row  # cold and warm delay + execution
    assert summary.read_text() == "# earlier step\n" + text
    assert "cold queue" in out and "warm exec" in out
    assert SECRET_KEY not in out + err + text


def test_a_failing_smoke_test_under_json_prints_one_document_and_exits_1(
    cli_env: str,
    runpod_local: LocalRunPod,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    zero = create_endpoint(runpod_local, "zero-failing")
    config = tmp_path / "podkit.toml"
    config.write_text(CONFIG.format(digest="0" * 64).replace("steps = 1 }", "steps = 2 }"))

    code = main(["test", "-c", str(config), "--endpoint", zero, "--only", "steps", "--json"])
    out, err = capsys.readouterr()

    assert code == 1, err
    document = json.loads(out)
    assert [r["passed"] for r in document["results"]] == [False]
    assert "steps" in document["results"][0]["failures"][0]
    assert SECRET_KEY not in out + err


def test_giving_up_at_the_timeout_cancels_the_smoke_job_it_left_behind(
    cli_env: str,
    runpod_local: LocalRunPod,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    endpoint = create_endpoint(runpod_local, "never-done")
    config = tmp_path / "podkit.toml"
    config.write_text(SLOW)

    args = ["test", "-c", str(config), "--endpoint", endpoint, "--only", "steps"]
    code = main([*args, "--timeout", "3s"])
    out, err = capsys.readouterr()

    assert code == 1, err
    said = " ".join(err.split())
    assert "--timeout 3s passed: cancelled smoke job(s) " in said
    job_id = said.split("cancelled smoke job(s) ", 1)[1].split(" ")[0]
    with api(runpod_local) as client:
        status = client.get(f"/v2/{endpoint}/status/{job_id}").json()["status"]
    assert status == "CANCELLED"
    assert SECRET_KEY not in out + err


def test_ctrl_c_cancels_the_smoke_job_and_says_so(
    cli_env: str, runpod_local: LocalRunPod, tmp_path: Path
) -> None:
    endpoint = create_endpoint(runpod_local, "interrupted-test", workers_min=1)
    config = tmp_path / "podkit.toml"
    config.write_text(SLOW)
    cmd = [sys.executable, "-m", "podkit", "test", "-c", str(config), "--endpoint", endpoint]
    env = {**os.environ, "COLUMNS": "300", "PYTHONPATH": str(Path(__file__).parents[3])}
    with subprocess.Popen(
        [*cmd, "--only", "steps", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as proc:
        assert proc.stderr is not None and proc.stdout is not None
        seen = ""
        while "step 1/600" not in seen:  # the smoke job runs on the worker
            line = proc.stderr.readline()
            assert line, seen
            seen += line
        proc.send_signal(signal.SIGINT)
        seen += proc.stderr.read()
        out = proc.stdout.read()
        assert proc.wait(timeout=60) == 130
    said = " ".join(seen.split())
    assert "interrupted: cancelled smoke job(s) " in said and "interrupted" not in seen.splitlines()
    job_id = said.split("cancelled smoke job(s) ", 1)[1].split(" ")[0]
    with api(runpod_local) as client:
        assert client.get(f"/v2/{endpoint}/status/{job_id}").json()["status"] == "CANCELLED"
    assert json.loads(out)["error"]["kind"] == "Interrupted"
    assert SECRET_KEY not in out + seen and "Traceback" not in seen
