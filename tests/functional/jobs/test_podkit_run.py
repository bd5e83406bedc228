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


def _requests(runpod: LocalRunPod, endpoint_id: str, since: int) -> list[str]:
    """The client's data-plane requests to `endpoint_id` since record `since`, as
    `METHOD /op` (the worker protocol's own requests are on other paths)."""
    assert runpod.recorder is not None
    prefix = f"/v2/{endpoint_id}/"
    return [
        f"{r.method} /{r.path[len(prefix) :].split('/')[0]}"
        for r in runpod.recorder.responses[since:]
        if r.path.startswith(prefix)
    ]


def test_long_job_completes_through_a_short_runsync_and_polling_with_progress_lines(
    cli_env: str, slow: str, runpod_local: LocalRunPod, capsys: pytest.CaptureFixture[str]
) -> None:
    assert runpod_local.recorder is not None
    since = len(runpod_local.recorder.responses)
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
    assert job["executionTime"] >= 3 * 500
    # runsync gave up after its short wait; /status polling followed the job to its end
    sent = _requests(runpod_local, slow, since)
    assert sent[0] == "POST /runsync" and sent.count("POST /runsync") == 1
    assert "POST /run" not in sent
    assert set(sent[1:]) == {"GET /status"}
    progress = [line.strip() for line in err.splitlines() if line.strip().startswith("> step")]
    assert progress, err
    assert all(line.endswith("/3") for line in progress)
    assert progress == sorted(progress)
    assert f"job {job['id']} COMPLETED" in err
    assert SECRET_KEY not in out + err


def test_a_short_job_is_one_request_and_a_long_one_costs_no_more_than_run_and_polling(
    cli_env: str, slow: str, runpod_local: LocalRunPod
) -> None:
    assert runpod_local.recorder is not None
    long_job = {"action": "slow_steps", "steps": 3, "gap": 1.0}
    with JobsClient(slow, api_key=SECRET_KEY, base_url=dataplane_url(cli_env)) as client:
        since = len(runpod_local.recorder.responses)
        done = client.execute({"action": "slow_steps", "steps": 1, "gap": 0})
        assert done.status == "COMPLETED"
        assert _requests(runpod_local, slow, since) == ["POST /runsync"]

        since = len(runpod_local.recorder.responses)
        assert client.execute(long_job, policy=LONGER).status == "COMPLETED"
        ours = _requests(runpod_local, slow, since)
        since = len(runpod_local.recorder.responses)
        queued = client.run(long_job, policy=LONGER)
        assert client.wait(queued.id, first=queued).status == "COMPLETED"
        polled = _requests(runpod_local, slow, since)
    assert ours[0] == "POST /runsync" and polled[0] == "POST /run"
    assert len(ours) <= len(polled), (ours, polled)


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
