"""The data-plane client against scripted responses (httpx MockTransport, no network)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from podkit._http import NO_RETRY, RetryPolicy
from podkit.errors import AuthError, JobError, JobExpiredError, JobWaitTimeout, ServerError
from podkit.runpod.job_target import api_key, dataplane_url
from podkit.runpod.job_types import Job, JobPolicy, JobStatus
from podkit.runpod.jobs import JobsClient, JobUpdate, PollPolicy

SECRET = "rpa_SECRET_never_shown"


class FakeClock:
    """A clock that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def _client(
    handler: Callable[[httpx.Request], httpx.Response],
    clock: FakeClock | None = None,
    retry: RetryPolicy | None = None,
) -> JobsClient:
    clock = clock or FakeClock()
    return JobsClient(
        "ep1",
        api_key=SECRET,
        base_url="http://127.0.0.1:9/v2",
        transport=httpx.MockTransport(handler),
        sleep=clock.sleep,
        clock=clock,
        poll=PollPolicy(initial=0.5, factor=2.0, maximum=4.0, on_change=1.0),
        retry=retry,
    )


def _scripted(statuses: list[dict[str, Any]], seen: list[httpx.Request]) -> Any:
    answers = iter(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v2/ep1/runsync":
            return httpx.Response(200, json={"id": "j1", "status": "IN_QUEUE"})
        return httpx.Response(200, json=next(answers))

    return handler


def test_execute_polls_until_final_and_reports_each_new_progress_once() -> None:
    seen: list[httpx.Request] = []
    statuses = [
        {"id": "j1", "status": "IN_QUEUE"},
        {"id": "j1", "status": "IN_QUEUE"},
        {"id": "j1", "status": "IN_PROGRESS", "delayTime": 2100, "output": "step 1/2"},
        {"id": "j1", "status": "IN_PROGRESS", "delayTime": 2100, "output": "step 1/2"},
        {"id": "j1", "status": "IN_PROGRESS", "delayTime": 2100, "output": "step 2/2"},
        {
            "id": "j1",
            "status": "COMPLETED",
            "delayTime": 2100,
            "executionTime": 5300,
            "output": {"ok": True},
            "workerId": "w1",
        },
    ]
    clock = FakeClock()
    updates: list[JobUpdate] = []
    client = _client(_scripted(statuses, seen), clock)
    job = client.execute({"action": "sync_models"}, on_update=updates.append)

    assert job.status is JobStatus.COMPLETED
    assert (job.output, job.delay_time, job.execution_time, job.worker_id) == (
        {"ok": True},
        2100,
        5300,
        "w1",
    )
    assert [u.progress for u in updates if u.new_progress] == ["step 1/2", "step 2/2"]
    assert json.loads(seen[0].content) == {"input": {"action": "sync_models"}}
    assert seen[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert seen[0].url.params["wait"] == "1000"  # a short server-side wait, then polling
    assert [r.url.path for r in seen[1:]] == ["/v2/ep1/status/j1"] * 6
    # a quick first look, backoff while nothing changes (capped), back to 1 s on news
    assert clock.sleeps == [0.5, 1.0, 2.0, 1.0, 2.0, 1.0]


def test_a_short_job_costs_one_request_and_no_sleep() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "j3", "status": "COMPLETED", "output": [1]})

    clock = FakeClock()
    updates: list[JobUpdate] = []
    submitted: list[Job] = []
    job = _client(handler, clock).execute(
        {"action": "gpu_info"}, on_update=updates.append, on_submit=submitted.append
    )
    assert (job.status, job.output) == (JobStatus.COMPLETED, [1])
    assert [r.url.path for r in seen] == ["/v2/ep1/runsync"]
    assert clock.sleeps == []
    assert [s.id for s in submitted] == ["j3"]
    assert [u.job.status for u in updates] == [JobStatus.COMPLETED]


def test_job_gone_mid_run_names_ttl_and_retention() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": "job not found"})

    with pytest.raises(JobExpiredError) as info:
        _client(handler).wait("j9")
    text = str(info.value)
    assert "j9" in text and "policy.ttl" in text and "30 min" in text and "--ttl" in text


def test_wait_timeout_leaves_job_running_and_says_how_to_cancel() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "j2", "status": "IN_PROGRESS"})

    clock = FakeClock()
    with pytest.raises(JobWaitTimeout) as info:
        _client(handler, clock).wait("j2", timeout=5.0)
    assert info.value.job_id == "j2"
    assert "podkit job cancel j2 --endpoint ep1" in str(info.value)
    assert sum(clock.sleeps) == pytest.approx(5.0)


def test_runsync_sends_wait_in_ms_clamped_and_the_policy() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "s1", "status": "IN_PROGRESS"})

    client = _client(handler)
    job = client.runsync({"a": 1}, wait=900, policy=JobPolicy(execution_timeout=60_000))
    client.runsync({"a": 1}, wait=0.2)
    assert not job.terminal
    assert seen[0].url.params["wait"] == "300000"
    assert seen[1].url.params["wait"] == "1000"
    assert json.loads(seen[0].content) == {"input": {"a": 1}, "policy": {"executionTimeout": 60000}}


def test_refused_key_is_an_auth_error_that_never_shows_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "Unauthorized"})

    with pytest.raises(AuthError) as info:
        _client(handler).run({"x": 1})
    assert "401" in str(info.value)
    assert SECRET not in str(info.value)
    assert "RUNPOD_API_KEY" in str(info.value)


def test_stream_yields_chunks_until_final_and_drained() -> None:
    answers = iter(
        [
            {"status": "IN_PROGRESS", "stream": [{"output": "a"}]},
            {"status": "IN_PROGRESS", "stream": []},
            {"status": "COMPLETED", "stream": [{"output": "b"}, {"output": "c"}]},
            {"status": "COMPLETED", "stream": []},
        ]
    )
    client = _client(lambda request: httpx.Response(200, json=next(answers)))
    assert list(client.iter_stream("j3")) == ["a", "b", "c"]


def test_health_cancel_retry_purge() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/health"):
            body = {
                "jobs": {"completed": 1, "failed": 5, "inProgress": 0, "inQueue": 2, "retried": 0},
                "workers": {"idle": 0, "running": 1, "throttled": 2},
            }
            return httpx.Response(200, json=body)
        if "/cancel/" in path:
            return httpx.Response(200, json={"id": "j4", "status": "CANCELLED"})
        if "/retry/" in path:
            return httpx.Response(400, json={"error": "job is not failed"})
        return httpx.Response(200, json={"removed": 3, "status": "completed"})

    client = _client(handler)
    health = client.health()
    assert (health.jobs.in_queue, health.jobs.failed, health.workers["throttled"]) == (2, 5, 2)
    assert client.cancel("j4").status is JobStatus.CANCELLED
    assert client.purge_queue() == 3
    with pytest.raises(Exception, match="job is not failed") as info:
        client.retry("j4")
    assert "FAILED or TIMED_OUT" in str(info.value)


def test_running_is_read_as_in_progress() -> None:
    assert Job.model_validate({"id": "x", "status": "RUNNING"}).status is JobStatus.IN_PROGRESS


def test_targets_pick_the_data_plane() -> None:
    assert dataplane_url(env={}) == "https://api.runpod.ai/v2"
    assert dataplane_url(env={"PODKIT_TARGET": "local"}) == "http://127.0.0.1:8765/v2"
    local = {"PODKIT_TARGET": "local", "PODKIT_LOCAL_URL": "http://127.0.0.1:9999/"}
    assert dataplane_url(env=local) == "http://127.0.0.1:9999/v2"
    assert dataplane_url("http://127.0.0.1:1", env={}) == "http://127.0.0.1:1/v2"
    with pytest.raises(AuthError, match="RUNPOD_API_KEY"):
        api_key(env={})


def test_a_network_blip_does_not_end_the_watch_but_a_lasting_outage_does() -> None:
    answers = iter(
        [httpx.Response(503)] * 3
        + [httpx.Response(200, json={"id": "j5", "status": "COMPLETED", "output": 1})]
    )
    # one attempt per request, so the blip reaches the poller instead of the HTTP retries
    client = _client(lambda request: next(answers), retry=NO_RETRY)
    assert client.wait("j5", first=Job(id="j5", status=JobStatus.IN_PROGRESS)).output == 1

    down = _client(lambda request: httpx.Response(502), retry=NO_RETRY)
    with pytest.raises(JobError, match="lost contact with job j6") as info:
        down.wait("j6", first=Job(id="j6", status=JobStatus.IN_PROGRESS))
    assert "podkit job wait j6 --endpoint ep1" in str(info.value)


@pytest.mark.parametrize("status", [400, 401, 404, 500])
def test_an_error_body_that_echoes_the_key_is_quoted_without_it(status: int) -> None:
    """Servers and proxies echo the request in errors; the key in it never reaches a message."""
    plain = "Plainkey" + "x" * 8  # no token shape: only the client's own knowledge removes it

    def echo(request: httpx.Request) -> httpx.Response:
        auth = request.headers["authorization"]
        return httpx.Response(status, json={"error": f"refused: auth={auth} ?api_key={plain}"})

    client = JobsClient(
        "ep1",
        api_key=plain,
        base_url="http://user:pw-in-url@127.0.0.1:9/v2?token=tk-in-url",
        transport=httpx.MockTransport(echo),
        retry=NO_RETRY,
    )
    with pytest.raises(Exception) as caught:
        client.health()
    text = str(caught.value)
    assert plain not in text and "pw-in-url" not in text and "tk-in-url" not in text
    assert f"({status})" in text and "refused: auth=" in text and "***" in text


@pytest.mark.parametrize("bad", ["../../serverless/x", "..", "a b", "j1?x=1"])
def test_a_job_id_that_is_not_one_never_goes_into_a_path(bad: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": bad, "status": "IN_QUEUE"})

    c = _client(handler, retry=NO_RETRY)
    with pytest.raises(ServerError, match="is not an id"):
        c.execute({"x": 1})  # the answer's id would have been polled next
    assert [r.url.path for r in seen] == ["/v2/ep1/runsync"]
    for call in (c.status, c.stream, c.cancel, c.retry, c.wait):
        with pytest.raises(JobError, match="is not an id"):
            call(bad)
    assert len(seen) == 1


def test_an_endpoint_id_that_is_not_one_is_refused_unsent() -> None:
    seen: list[httpx.Request] = []
    c = JobsClient(
        "../serverless",
        api_key=SECRET,
        base_url="http://127.0.0.1:9/v2",
        transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200)),  # type: ignore[func-returns-value]
    )
    with pytest.raises(JobError, match=r"endpoint '\.\./serverless' is not an id"):
        c.health()
    assert seen == []


@pytest.mark.parametrize("body", [None, [], {"removed": "lots"}, {"status": "completed"}])
def test_a_purge_answer_without_a_count_is_an_error_not_zero_removed(body: Any) -> None:
    client = _client(lambda request: httpx.Response(200, json=body))
    with pytest.raises(ServerError, match='no count of jobs "removed"'):
        client.purge_queue()


@pytest.mark.parametrize("body", [None, [], {"id": 5}, {"jobs": {}, "workers": []}])
def test_a_health_answer_without_its_counters_is_an_error_not_all_zero(body: Any) -> None:
    client = _client(lambda request: httpx.Response(200, json=body))
    with pytest.raises(ServerError, match='no "jobs" and "workers" counters'):
        client.health()


def test_the_timeout_named_when_execute_gives_up_is_the_one_asked_for() -> None:
    clock = FakeClock()

    def handler(request: httpx.Request) -> httpx.Response:
        clock.now += 0.25  # every answer takes a while, the submit's too
        return httpx.Response(200, json={"id": "j7", "status": "IN_QUEUE"})

    with pytest.raises(JobWaitTimeout) as info:
        _client(handler, clock).execute({"a": 1}, timeout=2.0)
    assert "is still IN_QUEUE on endpoint ep1 after 2 s of waiting" in str(info.value)
    assert info.value.status == "IN_QUEUE"
