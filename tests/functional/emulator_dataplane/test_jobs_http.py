"""The data plane over real HTTP with real `runpod` SDK worker processes."""

from __future__ import annotations

import sys
from typing import Any

import httpx
import pytest

from podkit.emulator.dataplane import FINAL_STATES
from tests.functional.emulator_dataplane.harness import KEY, Served, wait_until


@pytest.fixture(scope="module")
def echo(served: Served) -> str:
    served.endpoint("echo", workers_min=1, workers_max=2, idle_timeout_s=60)
    return "echo"


def _final(client: httpx.Client, endpoint: str, job_id: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/v2/{endpoint}/status/{job_id}").json()
        return body if body["status"] in FINAL_STATES else None

    result: dict[str, Any] = wait_until(probe, timeout=30, every=0.1)
    return result


def test_run_then_status_polling_completes_with_timings(served: Served, echo: str) -> None:
    with served.client() as client:
        queued = client.post(f"/v2/{echo}/run", json={"input": {"echo": "hello"}}).json()
        assert queued["status"] == "IN_QUEUE"
        done = _final(client, echo, queued["id"])
    assert done["status"] == "COMPLETED"
    assert done["output"]["echo"] == "hello"
    assert done["workerId"] == done["output"]["worker"]
    assert done["delayTime"] >= 0 and done["executionTime"] >= 0


def test_runsync_returns_the_finished_job(served: Served, echo: str) -> None:
    with served.client() as client:
        body = client.post(f"/v2/{echo}/runsync", json={"input": {"echo": [1, 2]}}).json()
    assert body["status"] == "COMPLETED"
    assert body["output"]["echo"] == [1, 2]
    assert body["id"].startswith("sync-")


def test_runsync_returns_the_unfinished_job_after_wait(served: Served, echo: str) -> None:
    with served.client() as client:
        body = client.post(
            f"/v2/{echo}/runsync?wait=1000", json={"input": {"sleep": 2.5, "echo": "late"}}
        ).json()
        assert body["status"] in ("IN_QUEUE", "IN_PROGRESS")
        done = _final(client, echo, body["id"])
    assert done["output"]["echo"] == "late"


def test_progress_update_shows_on_in_progress_status(served: Served, echo: str) -> None:
    with served.client() as client:
        job = client.post(
            f"/v2/{echo}/run", json={"input": {"progress": {"step": 1}, "sleep": 2}}
        ).json()

        def progress() -> dict[str, Any] | None:
            body: dict[str, Any] = client.get(f"/v2/{echo}/status/{job['id']}").json()
            return body if body.get("output") == {"step": 1} else None

        seen = wait_until(progress, timeout=15)
        assert seen["status"] == "IN_PROGRESS"
        assert _final(client, echo, job["id"])["status"] == "COMPLETED"


def test_handler_errors_fail_the_job_and_retry_keeps_the_id(served: Served, echo: str) -> None:
    with served.client() as client:
        job = client.post(f"/v2/{echo}/run", json={"input": {"error": "bad input"}}).json()
        failed = _final(client, echo, job["id"])
        assert failed["status"] == "FAILED"
        assert failed["error"] == "bad input"
        retried = client.post(f"/v2/{echo}/retry/{job['id']}").json()
        assert retried == {"id": job["id"], "status": "IN_QUEUE"}
        again = _final(client, echo, job["id"])
        assert again["status"] == "FAILED" and again["retries"] == 1
        raised = client.post(f"/v2/{echo}/runsync", json={"input": {"raise": "boom"}}).json()
        assert raised["status"] == "FAILED" and "boom" in raised["error"]
        ok = client.post(f"/v2/{echo}/runsync", json={"input": {"echo": 1}}).json()
        refused = client.post(f"/v2/{echo}/retry/{ok['id']}")
    assert refused.status_code == 400
    assert "only FAILED or TIMED_OUT" in refused.json()["error"]


def test_cancel_a_running_job_stops_it_on_the_worker(served: Served) -> None:
    served.endpoint("solo", workers_min=1, workers_max=1, idle_timeout_s=60)
    with served.client() as client:
        long = client.post("/v2/solo/run", json={"input": {"sleep": 30}}).json()
        wait_until(
            lambda: client.get(f"/v2/solo/status/{long['id']}").json()["status"] == "IN_PROGRESS"
        )
        queued = client.post("/v2/solo/run", json={"input": {"echo": "next"}}).json()
        cancelled = client.post(f"/v2/solo/cancel/{long['id']}").json()
        assert cancelled == {"id": long["id"], "status": "CANCELLED"}
        # The one worker only gets to the queued job if the cancelled one was really stopped.
        done = _final(client, "solo", queued["id"])
    assert done["output"]["echo"] == "next"


def test_cancel_and_purge_queued_jobs(served: Served) -> None:
    served.endpoint("idle", workers_min=0, workers_max=0)
    with served.client() as client:
        ids = [client.post("/v2/idle/run", json={"input": i}).json()["id"] for i in range(3)]
        assert client.post(f"/v2/idle/cancel/{ids[0]}").json()["status"] == "CANCELLED"
        health = client.get("/v2/idle/health").json()
        assert health["jobs"]["inQueue"] == 2
        assert client.post("/v2/idle/purge-queue").json() == {"removed": 2, "status": "completed"}
        statuses = {client.get(f"/v2/idle/status/{i}").json()["status"] for i in ids}
        assert client.get("/v2/idle/health").json()["jobs"]["inQueue"] == 0
    assert statuses == {"CANCELLED"}


def test_stream_returns_new_chunks_until_final(served: Served) -> None:
    served.endpoint("gen", workers_min=1, workers_max=1, env={"ECHO_MODE": "stream"})
    with served.client() as client:
        job = client.post("/v2/gen/run", json={"input": {"chunks": 4, "gap": 0.2}}).json()
        chunks: list[Any] = []

        def drained() -> bool:
            body = client.get(f"/v2/gen/stream/{job['id']}").json()
            chunks.extend(item["output"] for item in body["stream"])
            return body["status"] in FINAL_STATES

        wait_until(drained, timeout=30, every=0.1)
    assert chunks == ["chunk-0", "chunk-1", "chunk-2", "chunk-3"]


def test_auth_bearer_or_raw_key_and_accounts_are_separate(served: Served, echo: str) -> None:
    with served.client(key=None) as anonymous:
        missing = anonymous.post(f"/v2/{echo}/run", json={"input": 1})
        raw = anonymous.get(f"/v2/{echo}/health", headers={"Authorization": KEY})
    with served.client(key="someone-else") as other:
        foreign = other.get(f"/v2/{echo}/health")
    assert missing.status_code == 401
    assert raw.status_code == 200
    assert foreign.status_code == 404
    assert "someone-else" not in foreign.text and KEY not in missing.text


def test_bad_bodies_and_payload_limits(served: Served, echo: str) -> None:
    with served.client() as client:
        no_input = client.post(f"/v2/{echo}/run", json={"inputs": 1})
        bad_policy = client.post(
            f"/v2/{echo}/run", json={"input": 1, "policy": {"executionTimeout": 10}}
        )
        big = client.post(
            f"/v2/{echo}/run",
            content=b'{"input": "' + b"x" * 10_000_001 + b'"}',
            headers={"Content-Type": "application/json"},
        )
        unknown = client.get(f"/v2/{echo}/status/no-such-job")
    assert no_input.status_code == 400 and '"input"' in no_input.json()["error"]
    assert bad_policy.status_code == 400 and "executionTimeout" in bad_policy.json()["error"]
    assert big.status_code == 413 and "10 MB" in big.json()["error"]
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        b'{"input": {"text": "a\\ud800b"}}',
        b'{"input": {"t\\udfff": 1}}',
        b'{"input": "\xed\xa0\x80"}',
    ],
    ids=["escaped", "in-a-key", "encoded"],
)
def test_input_with_an_unpaired_surrogate_is_refused_and_the_queue_keeps_working(
    served: Served, echo: str, body: bytes
) -> None:
    with served.client() as client:
        refused = client.post(f"/v2/{echo}/run", content=body)
        assert refused.status_code == 400 and "surrogate" in refused.json()["error"]
        paired = client.post(
            f"/v2/{echo}/runsync", content=b'{"input": {"echo": "\\ud83d\\ude00"}}'
        )
    assert paired.json()["output"]["echo"] == "\U0001f600"


# A worker that speaks the worker protocol itself and answers every job with a string no
# UTF-8 encoder can write (the SDK cannot send one; any other client can).
SURROGATE_WORKER = """
import json, os, urllib.request
pod, key = os.environ["RUNPOD_POD_ID"], os.environ["RUNPOD_AI_API_KEY"]
def call(url, data=None):
    request = urllib.request.Request(url, data=data, headers={"Authorization": key})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status, answer.read()
take = os.environ["RUNPOD_WEBHOOK_GET_JOB"].replace("$ID", pod)
done = os.environ["RUNPOD_WEBHOOK_POST_OUTPUT"].replace("$RUNPOD_POD_ID", pod)
for _ in range(600):
    status, raw = call(take)
    if status == 200:
        job = json.loads(raw)
        call(done.replace("$ID", job["id"]), b'{"output": "\\\\ud800"}')
"""


def test_a_result_with_an_unpaired_surrogate_fails_its_job(served: Served) -> None:
    command = [sys.executable, "-c", SURROGATE_WORKER]
    served.endpoint("lone", workers_min=1, workers_max=1, worker_command=command)
    with served.client() as client:
        job = client.post("/v2/lone/run", json={"input": 1}).json()
        final = _final(client, "lone", job["id"])
        again = client.get(f"/v2/lone/status/{job['id']}")
    assert final["status"] == "FAILED" and "not valid JSON" in final["error"]
    assert again.status_code == 200
    served.plane.endpoint_deleted("lone")


def test_gpu_shim_answers_like_nvidia_smi_and_says_emulated(served: Served) -> None:
    served.endpoint("gpu", workers_min=1, workers_max=1, gpu_type="HOPPER_141")
    query = ["--query-gpu=name,memory.total", "--format=csv,noheader,nounits"]
    with served.client() as client:
        body = client.post("/v2/gpu/runsync", json={"input": {"nvidia_smi": query}}).json()
    assert body["output"] == {"stdout": "NVIDIA H200, 143771\n", "emulated": "1"}


def test_worker_env_carries_volume_and_template_env_but_no_host_keys(
    served: Served, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNPOD_API_KEY", "host-secret-key")
    served.endpoint(
        "envs", workers_min=1, workers_max=1, env={"MODEL": "tiny"}, volume_dir=tmp_path
    )
    names = ["MODEL", "PODKIT_VOLUME_DIR", "RUNPOD_API_KEY", "RUNPOD_ENDPOINT_ID"]
    with served.client() as client:
        body = client.post("/v2/envs/runsync", json={"input": {"env": names}}).json()
    assert body["output"] == {
        "MODEL": "tiny",
        "PODKIT_VOLUME_DIR": str(tmp_path),
        "RUNPOD_API_KEY": None,
        "RUNPOD_ENDPOINT_ID": "envs",
    }


def test_worker_list_and_logs_reflect_the_processes(served: Served, echo: str) -> None:
    listing = wait_until(lambda: served.plane.workers(echo))
    worker = listing[0]
    assert worker.status in ("IDLE", "RUNNING")
    lines = served.plane.logs(echo, worker.id)
    assert lines is not None
    assert any("Starting Serverless Worker" in line.line for line in lines)
    assert served.plane.logs(echo, "no-such-worker") is None
