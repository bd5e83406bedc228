"""Execution timeouts, TTL and result retention, on a plane whose clock the test moves."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from podkit.emulator.dataplane import DataPlaneSettings
from tests.functional.emulator_dataplane.harness import Served, serve_dataplane, wait_until


class ManualClock:
    """A monotonic clock that only moves when told (thread-safe)."""

    def __init__(self) -> None:
        self._now = 1_000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory, clock: ManualClock) -> Iterator[Served]:
    settings = DataPlaneSettings(worker_poll_hold_s=1.0, ping_interval_ms=1000, stop_grace_s=5.0)
    with serve_dataplane(tmp_path_factory.mktemp("timed"), settings=settings, clock=clock) as s:
        s.endpoint("slow", workers_min=1, workers_max=1, idle_timeout_s=3600)
        s.endpoint("sync", workers_min=1, workers_max=1, env={"ECHO_MODE": "sync"})
        s.endpoint("parked", workers_min=0, workers_max=0)
        yield s


def _status(served: Served, endpoint: str, job_id: str) -> tuple[int, dict[str, Any]]:
    with served.client() as client:
        response = client.get(f"/v2/{endpoint}/status/{job_id}")
    return response.status_code, response.json()


def _submit(served: Served, endpoint: str, body: dict[str, Any]) -> str:
    with served.client() as client:
        job_id: str = client.post(f"/v2/{endpoint}/run", json=body).json()["id"]
    return job_id


def _in_progress(served: Served, endpoint: str, job_id: str) -> None:
    wait_until(lambda: _status(served, endpoint, job_id)[1]["status"] == "IN_PROGRESS")


def _completes(served: Served, endpoint: str, echo: str) -> None:
    with served.client() as client:
        body = client.post(f"/v2/{endpoint}/runsync", json={"input": {"echo": echo}}).json()
    assert body["output"]["echo"] == echo


def test_policy_execution_timeout_times_out_and_stops_the_job(
    timed: Served, clock: ManualClock
) -> None:
    job = _submit(timed, "slow", {"input": {"sleep": 60}, "policy": {"executionTimeout": 5000}})
    _in_progress(timed, "slow", job)
    clock.advance(6)
    body = wait_until(lambda: (b := _status(timed, "slow", job)[1])["status"] == "TIMED_OUT" and b)
    assert "5000 ms" in body["error"]
    _completes(timed, "slow", "after-timeout")  # the single worker was freed by job-stop


def test_sync_handler_that_ignores_the_stop_is_replaced(timed: Served, clock: ManualClock) -> None:
    job = _submit(timed, "sync", {"input": {"sleep": 60}, "policy": {"executionTimeout": 5000}})
    _in_progress(timed, "sync", job)
    worker = _status(timed, "sync", job)[1]["workerId"]
    clock.advance(6)
    wait_until(lambda: _status(timed, "sync", job)[1]["status"] == "TIMED_OUT")
    clock.advance(6)  # past the stop grace: the worker is terminated and replaced
    wait_until(lambda: worker not in timed.plane.supervisor.live_worker_ids("sync"))
    _completes(timed, "sync", "replaced")


def test_ttl_expiry_deletes_queued_and_running_jobs(timed: Served, clock: ManualClock) -> None:
    queued = _submit(timed, "parked", {"input": 1, "policy": {"ttl": 10_000}})
    running = _submit(timed, "slow", {"input": {"sleep": 60}, "policy": {"ttl": 10_000}})
    _in_progress(timed, "slow", running)
    clock.advance(11)
    wait_until(lambda: _status(timed, "slow", running)[0] == 404)
    assert _status(timed, "parked", queued)[0] == 404
    _completes(timed, "slow", "after-ttl")


def test_results_expire_after_the_retention_window(timed: Served, clock: ManualClock) -> None:
    with timed.client() as client:
        sync_id = client.post("/v2/slow/runsync", json={"input": {"echo": 1}}).json()["id"]
    run_id = _submit(timed, "slow", {"input": {"echo": 2}})
    wait_until(lambda: _status(timed, "slow", run_id)[1]["status"] == "COMPLETED")
    clock.advance(61)
    wait_until(lambda: _status(timed, "slow", sync_id)[0] == 404)
    assert _status(timed, "slow", run_id)[1]["output"]["echo"] == 2
    clock.advance(30 * 60)
    wait_until(lambda: _status(timed, "slow", run_id)[0] == 404)
