"""The jobs backend as plain state: transitions, deadlines, worker loss, ids (no I/O)."""

from __future__ import annotations

import pytest

from podkit.emulator.dataplane import (
    DataPlaneSettings,
    EndpointRuntime,
    JobsBackend,
    JobsError,
    JobStatus,
)
from podkit.emulator.dataplane.store import JobStore


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def backend(clock: Clock) -> JobsBackend:
    settings = DataPlaneSettings(run_retention_s=1800, runsync_retention_s=60, crash_retries=1)
    jobs = JobsBackend(settings, clock=clock, seed=1)
    jobs.upsert_endpoint(EndpointRuntime("ep", "acct", execution_timeout_ms=600_000))
    return jobs


def _worker(backend: JobsBackend) -> str:
    return backend.register_worker("ep", "token").id


def _take(backend: JobsBackend, worker: str, count: int = 1) -> list[str]:
    return [job["id"] for job in backend.take_jobs("ep", worker, count, in_progress=False)]


def test_job_flows_from_queue_to_completed_with_timings(backend: JobsBackend, clock: Clock) -> None:
    job = backend.submit("ep", {"input": {"x": 1}})
    worker = _worker(backend)
    clock.now = 2.0
    assert backend.take_jobs("ep", worker, 1, in_progress=False) == [
        {"id": job.id, "input": {"x": 1}}
    ]
    clock.now = 2.5
    backend.job_done("ep", worker, job.id, {"status": "IN_PROGRESS", "output": "half"})
    assert backend.status_body("ep", job.id)["output"] == "half"
    clock.now = 3.25
    backend.job_done("ep", worker, job.id, {"output": {"y": 2}})
    assert backend.status_body("ep", job.id) == {
        "id": job.id,
        "status": "COMPLETED",
        "delayTime": 2000,
        "executionTime": 1250,
        "output": {"y": 2},
        "workerId": worker,
    }
    assert backend.health("ep")["jobs"]["completed"] == 1


def test_error_result_fails_and_only_failed_jobs_retry(backend: JobsBackend) -> None:
    bad = backend.submit("ep", {"input": 1})
    good = backend.submit("ep", {"input": 2})
    worker = _worker(backend)
    _take(backend, worker, 2)
    backend.job_done("ep", worker, bad.id, {"error": "no such model"})
    backend.job_done("ep", worker, good.id, {"output": 2})
    assert bad.status is JobStatus.FAILED and bad.error == "no such model"
    with pytest.raises(JobsError, match="only FAILED or TIMED_OUT"):
        backend.retry("ep", good.id)
    assert backend.retry("ep", bad.id) == {"id": bad.id, "status": "IN_QUEUE"}
    assert bad.error is None and backend.health("ep")["jobs"]["retried"] == 1


def test_policy_is_validated_against_platform_ranges(backend: JobsBackend) -> None:
    for policy, field in [
        ({"executionTimeout": 4999}, "executionTimeout"),
        ({"ttl": 9_000}, "ttl"),
        ({"lowPriority": "yes"}, "lowPriority"),
        ({"priority": 1}, "unknown"),
    ]:
        with pytest.raises(JobsError, match=field):
            backend.submit("ep", {"input": 1, "policy": policy})
    with pytest.raises(JobsError, match='"input"'):
        backend.submit("ep", {"payload": 1})


def test_low_priority_jobs_wait_and_do_not_count_as_pressure(backend: JobsBackend) -> None:
    low = backend.submit("ep", {"input": "low", "policy": {"lowPriority": True}})
    normal = backend.submit("ep", {"input": "normal"})
    assert backend.queue_pressure("ep") == (1, 0)
    assert _take(backend, _worker(backend), 2) == [normal.id, low.id]


def test_execution_timeout_times_out_and_signals_the_worker(
    backend: JobsBackend, clock: Clock
) -> None:
    job = backend.submit("ep", {"input": 1, "policy": {"executionTimeout": 5000}})
    worker = _worker(backend)
    _take(backend, worker)
    clock.now = 4.9
    backend.tick()
    assert job.status is JobStatus.IN_PROGRESS
    clock.now = 5.0
    backend.tick()
    assert job.status is JobStatus.TIMED_OUT
    assert backend.take_stop_signals("ep", worker) == [job.id]
    assert backend.take_stop_signals("ep", worker) == []
    # Still listed by the heartbeat: the stop is sent again; once gone, it is forgotten.
    backend.ping("ep", worker, [job.id])
    assert backend.take_stop_signals("ep", worker) == [job.id]
    backend.ping("ep", worker, [])
    record = backend.worker(worker)
    assert record is not None and record.stopping == {}
    # A late result for the timed-out job changes nothing.
    assert not backend.job_done("ep", worker, job.id, {"output": "late"})


def test_ttl_deletes_jobs_and_results_expire_after_retention(
    backend: JobsBackend, clock: Clock
) -> None:
    short = backend.submit("ep", {"input": 1, "policy": {"ttl": 10_000}})
    run = backend.submit("ep", {"input": 2})
    sync = backend.submit("ep", {"input": 3}, sync=True)
    worker = _worker(backend)
    _take(backend, worker, 3)
    backend.job_done("ep", worker, run.id, {"output": 2})
    backend.job_done("ep", worker, sync.id, {"output": 3})
    clock.now = 10.0
    backend.tick()
    with pytest.raises(JobsError) as gone:
        backend.get("ep", short.id)
    assert gone.value.status == 404
    assert backend.take_stop_signals("ep", worker) == [short.id]
    clock.now = 61
    backend.tick()
    with pytest.raises(JobsError):
        backend.get("ep", sync.id)
    assert backend.get("ep", run.id).status is JobStatus.COMPLETED
    clock.now = 1801
    backend.tick()
    with pytest.raises(JobsError):
        backend.get("ep", run.id)


def test_lost_worker_requeues_its_job_once_then_fails_it(backend: JobsBackend) -> None:
    job = backend.submit("ep", {"input": 1})
    first = _worker(backend)
    _take(backend, first)
    assert backend.worker_exited(first, -9) == [job.id]
    assert job.status is JobStatus.IN_QUEUE and job.retries == 1
    second = _worker(backend)
    assert _take(backend, second) == [job.id]
    backend.worker_exited(second, -9)
    assert job.status is JobStatus.FAILED
    assert f"worker {second} exited unexpectedly (exit code -9)" in (job.error or "")
    assert backend.health("ep")["jobs"] == {
        "completed": 0,
        "failed": 1,
        "inProgress": 0,
        "inQueue": 0,
        "retried": 1,
    }


def test_cancel_purge_and_stream_reads(backend: JobsBackend) -> None:
    queued = [backend.submit("ep", {"input": n}) for n in range(3)]
    running = backend.submit("ep", {"input": "gen"})
    worker = _worker(backend)
    backend.cancel("ep", queued[0].id)
    assert _take(backend, worker) == [queued[1].id]
    assert backend.purge_queue("ep") == {"removed": 2, "status": "completed"}
    assert running.status is JobStatus.CANCELLED
    live = backend.submit("ep", {"input": "stream"})
    assert _take(backend, worker) == [live.id]
    backend.job_stream("ep", worker, live.id, {"output": "a"})
    backend.job_stream("ep", worker, live.id, {"output": "b"})
    assert backend.read_stream("ep", live.id)["stream"] == [{"output": "a"}, {"output": "b"}]
    backend.job_stream("ep", worker, live.id, {"output": "c"})
    assert backend.read_stream("ep", live.id)["stream"] == [{"output": "c"}]


def test_retiring_worker_gets_no_jobs_and_seeded_ids_repeat(clock: Clock) -> None:
    def fresh() -> JobsBackend:
        jobs = JobsBackend(clock=clock, seed=42)
        jobs.upsert_endpoint(EndpointRuntime("ep", "acct"))
        return jobs

    one, two = fresh(), fresh()
    assert one.submit("ep", {"input": 1}).id == two.submit("ep", {"input": 1}).id
    worker = one.register_worker("ep", "t").id
    assert len(worker) == 14
    one.retire_worker(worker)
    assert one.take_jobs("ep", worker, 1, in_progress=False) == []
    one.reset()
    assert one.endpoint_ids() == []


def test_a_restart_restores_jobs_with_their_remaining_time(clock: Clock) -> None:
    store = JobStore(":memory:")  # one database, read back by the next backend
    settings = DataPlaneSettings(run_retention_s=1800, runsync_retention_s=60, crash_retries=1)
    backend = JobsBackend(settings, clock=clock, seed=1, store=store, wall=lambda: 1e6 + clock())
    backend.upsert_endpoint(EndpointRuntime("ep", "acct", execution_timeout_ms=600_000))
    finished = backend.submit("ep", {"input": 1})
    running = backend.submit("ep", {"input": 2})
    queued = backend.submit("ep", {"input": 3, "policy": {"ttl": 20_000}})
    worker = _worker(backend)
    _take(backend, worker, 2)
    clock.now = 5.0
    backend.job_done("ep", worker, finished.id, {"output": "ok"})

    later = Clock()
    later.now = 500.0  # the same wall time as 5.0 was before
    fresh = JobsBackend(settings, clock=later, seed=2, store=store, wall=lambda: 1e6 + 5.0)
    fresh.upsert_endpoint(EndpointRuntime("ep", "acct"))
    assert fresh.restore() == 3
    assert fresh.status_body("ep", finished.id)["output"] == "ok"
    assert fresh.get("ep", running.id).status is JobStatus.IN_QUEUE
    assert fresh.get("ep", running.id).retries == 1
    later.now = 500.0 + 15.0  # the queued job was 5 s old; its 20 s TTL ends now
    fresh.tick()
    with pytest.raises(JobsError):
        fresh.get("ep", queued.id)
    assert fresh.health("ep")["jobs"]["completed"] == 1


def test_every_change_is_in_the_store_when_the_call_returns(clock: Clock) -> None:
    store = JobStore(":memory:")
    backend = JobsBackend(DataPlaneSettings(run_retention_s=60), clock=clock, seed=1, store=store)
    backend.upsert_endpoint(EndpointRuntime("ep", "acct"))

    def stored() -> dict[str, tuple[str, int, list[object], object]]:
        return {
            j.id: (str(j.status), j.stream_read, j.stream, j.output) for j in store.read(0.0).jobs
        }

    streamed = backend.submit("ep", {"input": "s"})
    done = backend.submit("ep", {"input": "d"})
    cancelled = backend.submit("ep", {"input": "c"})
    assert {k: v[0] for k, v in stored().items()} == dict.fromkeys(
        [streamed.id, done.id, cancelled.id], "IN_QUEUE"
    )
    worker = _worker(backend)
    _take(backend, worker, 2)
    assert stored()[done.id][0] == "IN_PROGRESS"
    backend.job_stream("ep", worker, streamed.id, {"output": "chunk"})
    assert stored()[streamed.id][2] == ["chunk"]
    backend.read_stream("ep", streamed.id)
    assert stored()[streamed.id][1] == 1
    backend.job_done("ep", worker, done.id, {"output": {"ok": True}})
    assert stored()[done.id][::3] == ("COMPLETED", {"ok": True})
    backend.cancel("ep", cancelled.id)
    assert stored()[cancelled.id][0] == "CANCELLED"
    clock.now = 61.0  # past retention: the finished jobs are forgotten, on disk too
    backend.tick()
    assert set(stored()) == {streamed.id}
