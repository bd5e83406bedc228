"""Jobs across an emulator restart: a JSON snapshot on close, restored on start.

Times are stored as ages (seconds before the snapshot), so TTL and retention keep counting
from the original submission and finish. A job that was running when the emulator stopped
lost its worker with it: it is queued again and says so (`retries`), like any worker loss.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from podkit.emulator.dataplane.core import JobsCore
from podkit.emulator.dataplane.jobs import MISSING, Job, JobPolicy, JobStatus

FORMAT = 1


def _job_out(job: Job, now: float) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": job.id,
        "endpointId": job.endpoint_id,
        "input": job.input,
        "policy": [job.policy.execution_timeout_ms, job.policy.ttl_ms, job.policy.low_priority],
        "sync": job.sync,
        "webhook": job.webhook,
        "s3Config": job.s3_config,
        "status": str(job.status),
        "workerId": job.worker_id,
        "age": now - job.submitted_at,
        "delay": None if job.started_at is None else job.started_at - job.submitted_at,
        "finishedAgo": None if job.finished_at is None else now - job.finished_at,
        "error": job.error,
        "stream": job.stream[job.stream_read :],
        "retries": job.retries,
        "crashRequeues": job.crash_requeues,
    }
    if job.output is not MISSING:
        data["output"] = job.output
    return data


def _job_in(data: dict[str, Any], now: float) -> Job:
    timeout, ttl, low = data["policy"]
    job = Job(
        id=data["id"],
        endpoint_id=data["endpointId"],
        input=data["input"],
        policy=JobPolicy(int(timeout), int(ttl), bool(low)),
        submitted_at=now - float(data["age"]),
        sync=bool(data["sync"]),
        webhook=data["webhook"],
        s3_config=data["s3Config"],
        status=JobStatus(data["status"]),
        worker_id=data["workerId"],
        error=data["error"],
        stream=list(data["stream"]),
        retries=int(data["retries"]),
        crash_requeues=int(data["crashRequeues"]),
    )
    if data["delay"] is not None:
        job.started_at = job.submitted_at + float(data["delay"])
    if data["finishedAgo"] is not None:
        job.finished_at = now - float(data["finishedAgo"])
    job.output = data.get("output", MISSING)
    return job


class SnapshotMixin(JobsCore):
    """`save(path)` / `load(path)` of every job and the endpoints' counters."""

    def snapshot(self) -> dict[str, Any]:
        """Every job and the per-endpoint counters, as JSON-ready data."""
        with self._lock:
            now = self.now()
            counters = {
                eid: [state.completed, state.failed, state.retried]
                for eid, state in self._endpoints.items()
            }
            jobs = sorted(self._jobs.values(), key=lambda job: job.submitted_at)
            return {
                "format": FORMAT,
                "counters": counters,
                "jobs": [_job_out(job, now) for job in jobs],
            }

    def restore(self, data: dict[str, Any]) -> int:
        """Load a snapshot's jobs for endpoints known now; returns how many were restored."""
        if data.get("format") != FORMAT:
            return 0
        restored = 0
        with self._lock:
            now = self.now()
            for eid, (completed, failed, retried) in data["counters"].items():
                if eid in self._endpoints:
                    state = self._endpoints[eid]
                    state.completed, state.failed, state.retried = completed, failed, retried
            for raw in data["jobs"]:
                if raw["endpointId"] in self._endpoints and raw["id"] not in self._jobs:
                    self._adopt(_job_in(raw, now))
                    restored += 1
        for eid in self.endpoint_ids():
            self._notify(eid)
        return restored

    def _adopt(self, job: Job) -> None:
        state = self._endpoints[job.endpoint_id]
        self._jobs[job.id] = job
        state.job_ids.add(job.id)
        self._schedule(job.submitted_at + job.policy.ttl_ms / 1000, "ttl", job.id)
        if job.status is JobStatus.IN_PROGRESS:  # its worker went down with the emulator
            self._reset_for_queue(job)
            job.retries += 1
            state.retried += 1
            state.requeued[job.id] = None
        elif job.status is JobStatus.IN_QUEUE:
            (state.low_queue if job.policy.low_priority else state.queue)[job.id] = None
        elif job.finished_at is not None:
            self._schedule(job.finished_at + self._retention(job), "retain", job.id)

    def save(self, path: Path) -> None:
        """Write the snapshot atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".incomplete")
        partial.write_text(json.dumps(self.snapshot()))
        partial.replace(path)

    def load(self, path: Path) -> int:
        """Restore from `path` if it exists (unreadable snapshots are set aside, not fatal)."""
        if not path.exists():
            return 0
        try:
            data = json.loads(path.read_text())
        except ValueError:
            path.replace(path.with_suffix(".unreadable"))
            return 0
        return self.restore(data)
