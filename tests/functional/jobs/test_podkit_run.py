"""`podkit run` against the local data plane with the real podkit worker under the SDK."""

from __future__ import annotations

import json

import pytest
import runpod

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from podkit.runpod.job_target import dataplane_url
from podkit.runpod.job_types import JobPolicy
from podkit.runpod.jobs import JobsClient
from tests.functional.jobs.conftest import SECRET_KEY, create_endpoint

LONGER = JobPolicy(execution_timeout=30_000)


@pytest.fixture(scope="module")
def slow(runpod_local: LocalRunPod) -> str:
    """One warm worker for every test here; its execution timeout is 1 s (longer jobs below
    raise their own limit with --execution-timeout)."""
    files = {"models/a.bin": b"x" * 10, "readme.txt": b"hi"}
    return create_endpoint(
        runpod_local, "slow", workers_min=1, workers_max=1, timeout_ms=1000, files=files
    )


def test_long_job_completes_through_run_and_polling_with_progress_lines(
    cli_env: str, slow: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # runsync gives up first (its shortest server-side wait is 1 s) ...
    with JobsClient(slow, api_key=SECRET_KEY, base_url=dataplane_url(cli_env)) as client:
        unfinished = client.runsync(
            {"action": "slow_steps", "steps": 2, "gap": 0.7}, wait=1, policy=LONGER
        )
        assert unfinished.status in ("IN_QUEUE", "IN_PROGRESS")
        assert client.wait(unfinished.id).status == "COMPLETED"
    capsys.readouterr()

    # ... while podkit run follows the same kind of job to the end.
    code = main(
        [
            "run",
            "slow_steps",
            "--endpoint",
            slow,
            "--json",
            "--execution-timeout",
            "30s",
            "--input",
            '{"steps": 3, "gap": 0.5}',
        ]
    )
    out, err = capsys.readouterr()
    job = json.loads(out)
    assert code == 0
    assert job["status"] == "COMPLETED" and job["output"] == {"steps": 3, "done": True}
    assert not job["id"].startswith("sync-")  # a /run job, followed by /status polling
    assert job["executionTime"] >= 3 * 500
    progress = [line.strip() for line in err.splitlines() if line.strip().startswith("> step")]
    assert progress, err
    assert all(line.endswith("/3") for line in progress)
    assert progress == sorted(progress)
    assert f"job {job['id']} COMPLETED" in err
    assert SECRET_KEY not in out + err


def test_failed_and_timed_out_jobs_exit_with_their_own_codes(
    cli_env: str, slow: str, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = main(
        ["run", "slow_steps", "--endpoint", slow, "-i", '{"steps": 2, "gap": 0, "fail_at": 2}']
    )
    _, failed_err = capsys.readouterr()
    timed_out = main(["run", "slow_steps", "--endpoint", slow, "-i", '{"steps": 2, "gap": 1}'])
    _, timed_err = capsys.readouterr()
    unknown = main(["run", "no_such_action", "--endpoint", slow])
    _, unknown_err = capsys.readouterr()

    assert (failed, timed_out, unknown) == (3, 4, 3)
    assert "FAILED" in failed_err and "step 2 failed" in failed_err
    assert "TIMED_OUT" in timed_err and "ran longer than the endpoint" in timed_err
    assert "`execution_timeout` under [endpoint] in podkit.toml" in timed_err
    assert "--execution-timeout" in timed_err
    assert "unknown action 'no_such_action'" in unknown_err and "slow_steps" in unknown_err


def test_async_run_then_job_wait(
    cli_env: str, slow: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        main(["run", "slow_steps", "--endpoint", slow, "--async", "-i", '{"steps": 1, "gap": 0}'])
        == 0
    )
    out, err = capsys.readouterr()
    job_id = out.strip()
    assert f"podkit job wait {job_id} --endpoint {slow}" in err
    monkeypatch.setenv("PODKIT_ENDPOINT_ID", slow)  # instead of --endpoint, as in a CI job
    assert main(["job", "wait", job_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == {"steps": 1, "done": True}


def test_same_outputs_through_podkit_run_and_the_runpod_sdk(
    cli_env: str,
    slow: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fields = {"path": "/runpod-volume", "recursive": True}
    monkeypatch.setattr(runpod, "api_key", SECRET_KEY)
    monkeypatch.setattr(runpod, "endpoint_url_base", f"{cli_env}/v2")

    assert main(["run", "list_files", "--endpoint", slow, "--json", "-i", json.dumps(fields)]) == 0
    ours = json.loads(capsys.readouterr().out)["output"]
    theirs = runpod.Endpoint(slow).run_sync({"action": "list_files", **fields}, timeout=60)

    assert ours == theirs
    assert {entry["path"] for entry in ours["files"]} == {
        "/runpod-volume/models/a.bin",
        "/runpod-volume/readme.txt",
    }


def test_cancel_retry_and_purge_queue_print_json_for_scripts(
    cli_env: str, slow: str, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = ["-i", '{"steps": 1, "gap": 0, "fail_at": 1}', "--json"]
    assert main(["run", "slow_steps", "--endpoint", slow, *failing]) == 3
    failed_id = json.loads(capsys.readouterr().out)["id"]
    assert main(["job", "retry", failed_id, "--endpoint", slow, "--json"]) == 0
    retried = json.loads(capsys.readouterr().out)
    assert retried["id"] == failed_id and retried["status"] != "FAILED"
    assert main(["job", "wait", failed_id, "--endpoint", slow]) == 3  # fails the same way
    capsys.readouterr()

    long_job = ["-i", '{"steps": 30, "gap": 1}', "--execution-timeout", "1m", "--async"]
    assert main(["run", "slow_steps", "--endpoint", slow, *long_job]) == 0
    job_id = capsys.readouterr().out.strip()
    assert main(["job", "cancel", job_id, "--endpoint", slow, "--json"]) == 0
    cancelled = json.loads(capsys.readouterr().out)
    assert (cancelled["id"], cancelled["status"]) == (job_id, "CANCELLED")

    assert main(["job", "purge-queue", "--endpoint", slow, "--yes", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"endpoint": slow, "removed": 0}
