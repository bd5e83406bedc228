"""The job commands at their edges: a job still running at `--timeout` under `--json`, a job
output holding a secret in a form JSON escapes, a sync report of another shape, Ctrl-C while
following logs, and smoke tests against workers that die before they are ready."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.answering import Answering, answering
from tests.functional.jobs.conftest import ROOT, SECRET_KEY, WORKER_ENV, api, create_endpoint

SECRET = 'pässwört-"quoted"-7f3a9c'
IN_PROGRESS = {"id": "job-edge-1", "status": "IN_PROGRESS", "delayTime": 5, "workerId": "w-1"}
SMOKE = """
project = "edges"

[image]
ref = "ghcr.io/acme/worker:1.0@sha256:{digest}"

[endpoint]
gpu_types = ["NVIDIA GeForce RTX 4090"]

[[smoke]]
name = "steps"
input = {{ action = "slow_steps", steps = 1, gap = 0 }}
expect = {{ done = true }}
""".format(digest="0" * 64)
MODELS = """
project = "edges"

[image]
ref = "ghcr.io/acme/worker:1.0@sha256:{digest}"

[endpoint]
gpu_types = ["NVIDIA GeForce RTX 4090"]

[[models]]
source = "https://example.com/w.bin"
destination = "models"
""".format(digest="0" * 64)


@pytest.fixture(scope="module")
def foreign() -> Iterator[Answering]:
    with answering() as running:
        yield running


@pytest.fixture
def on_foreign(foreign: Answering, monkeypatch: pytest.MonkeyPatch) -> Answering:
    monkeypatch.setenv("PODKIT_TARGET", foreign.url)
    monkeypatch.setenv("RUNPOD_API_KEY", SECRET_KEY)
    monkeypatch.setenv("EDGE_TOKEN", SECRET)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return foreign


@pytest.mark.parametrize("argv", [["run", "slow_steps"], ["job", "wait", "job-edge-1"]])
def test_still_running_at_the_timeout_under_json_prints_the_job_as_last_seen(
    on_foreign: Answering, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    on_foreign.body = json.dumps(IN_PROGRESS).encode()
    code = main([*argv, "--endpoint", "ep-edge", "--timeout", "1s", "--json"])
    out, err = capsys.readouterr()
    assert code == 6, err
    job = json.loads(out)  # the one document on stdout
    assert job["id"] == "job-edge-1" and job["status"] == "IN_PROGRESS"
    assert "podkit job cancel job-edge-1 --endpoint ep-edge" in " ".join(err.split())


@pytest.mark.parametrize("argv", [["job", "status", "job-edge-1"], ["run", "echo"]])
def test_a_secret_in_a_job_output_is_masked_in_every_form_json_writes_it(
    on_foreign: Answering, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    output = {"said": SECRET, "nested": [{"again": f"token {SECRET}"}]}
    done = {"id": "job-edge-1", "status": "COMPLETED", "output": output}
    on_foreign.body = json.dumps(done).encode()
    for extra in ([], ["--json"]):
        code = main([*argv, "--endpoint", "ep-edge", *extra])
        out, err = capsys.readouterr()
        assert code == 0, err
        encoded = json.dumps(SECRET)[1:-1]  # p\u00e4ssw\u00f6rt-\"quoted\"-...
        for form in (SECRET, encoded, "7f3a9c"):
            assert form not in out + err, (extra, form, out)
        assert "***" in out


@pytest.mark.parametrize(
    "report",
    [
        {"status": "ok", "entries": "x"},
        {"status": "partial", "entries": [{"source": 1}]},
        {"status": 5, "entries": []},
        {"status": "plan", "entries": [{"source": "s", "destination": "d", "current": 0}]},
    ],
)
def test_a_sync_report_of_another_shape_is_one_error_naming_the_field(
    on_foreign: Answering,
    report: dict[str, object],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "podkit.toml"
    config.write_text(MODELS)
    done = {"id": "job-edge-2", "status": "COMPLETED", "output": report}
    on_foreign.body = json.dumps(done).encode()
    argv = ["models", "sync", "-c", str(config), "--endpoint", "ep-edge"]
    for extra in ([], ["--json"], ["--dry-run"]):
        code = main([*argv, *extra])  # an exception here would be a traceback
        out, err = capsys.readouterr()
        assert code == 1, (extra, out, err)
        said = " ".join(err.split())
        assert "job-edge-2 on endpoint ep-edge answered a sync report podkit cannot read" in said
        if extra == ["--json"]:
            assert json.loads(out)["error"]["kind"] == "JobError"


def test_ctrl_c_while_following_logs_exits_130(
    cli_env: str, runpod_local: LocalRunPod, tmp_path: Path
) -> None:
    endpoint = create_endpoint(runpod_local, "logs-follow", workers_min=1)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "300"}
    cmd = [sys.executable, "-m", "podkit", "logs", "--follow", "--endpoint", endpoint, "--json"]
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
        text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as proc:  # fmt: skip
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()  # a worker line: the stream is being followed
        assert json.loads(first)["worker"], first
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
        err = proc.stderr.read()
        rest = proc.stdout.read().splitlines()
    assert "Traceback" not in err and SECRET_KEY not in err
    # Every line of stdout is one JSON object, the interrupt's error document included.
    documents = [json.loads(line) for line in rest if line.strip()]
    assert documents and documents[-1]["error"]["kind"] == "Interrupted"


def test_smoke_tests_against_workers_that_die_at_start_stop_and_cancel_their_job(
    cli_env: str, runpod_local: LocalRunPod, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = create_endpoint(runpod_local, "dies-at-start")
    with api(runpod_local) as client:
        broken = {"env": {**WORKER_ENV, "PODKIT_ACTIONS": "no_such_actions_module"}}
        assert client.patch(f"/v2/serverless/{endpoint}", json=broken).status_code == 200
    config = tmp_path / "podkit.toml"
    config.write_text(SMOKE)
    # Without the watch this would wait out the whole --timeout with the job IN_QUEUE.
    code = main(["test", "-c", str(config), "--endpoint", endpoint, "--json", "--timeout", "10m"])
    out, err = capsys.readouterr()
    assert code == 1, err
    error = json.loads(out)["error"]
    assert error["kind"] == "CrashLoopError"
    assert f"smoke tests on endpoint {endpoint} stopped" in error["message"]
    assert "no_such_actions_module" in error["message"]  # the worker's last words
    said = " ".join(err.split())
    job_id = said.split("cancelled smoke job(s) ", 1)[1].split(" ")[0]
    with api(runpod_local) as client:
        assert client.get(f"/v2/{endpoint}/status/{job_id}").json()["status"] == "CANCELLED"
        assert client.delete(f"/v2/serverless/{endpoint}").status_code in (200, 204)
    assert SECRET_KEY not in out + err


@pytest.mark.parametrize("command", ["run", "models sync"])
def test_a_job_for_workers_that_die_at_start_stops_and_is_cancelled(
    cli_env: str,
    runpod_local: LocalRunPod,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    endpoint = create_endpoint(runpod_local, f"dies-{command.replace(' ', '-')}")
    with api(runpod_local) as client:
        broken = {"env": {**WORKER_ENV, "PODKIT_ACTIONS": "no_such_actions_module"}}
        assert client.patch(f"/v2/serverless/{endpoint}", json=broken).status_code == 200
    config = tmp_path / "podkit.toml"
    config.write_text(MODELS)
    argv = {
        "run": ["run", "gpu_info", "--endpoint", endpoint, "--timeout", "10m"],
        "models sync": ["models", "sync", "-c", str(config), "--endpoint", endpoint],
    }[command]
    # Without the watch the job would wait IN_QUEUE for ever (or the whole --timeout).
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    assert code == 1, err
    error = json.loads(out)["error"]
    assert error["kind"] == "CrashLoopError" and "cannot start" in error["message"]
    assert "no_such_actions_module" in error["message"]  # the worker's last words
    job_id = " ".join(err.split()).split(" job ", 1)[1].split(" ")[0]
    with api(runpod_local) as client:
        assert client.get(f"/v2/{endpoint}/status/{job_id}").json()["status"] == "CANCELLED"
        assert client.delete(f"/v2/serverless/{endpoint}").status_code in (200, 204)
    assert SECRET_KEY not in out + err
