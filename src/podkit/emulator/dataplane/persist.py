"""Jobs across an emulator restart: read back from the job database, or once from the JSON
snapshot (`jobs.json`) older versions wrote on a clean stop.

A job that was running when the emulator stopped or crashed lost its worker with it: it is
queued again and says so (`retries`), like any worker loss. Finished jobs keep their results
and never run again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from podkit.emulator.dataplane.core import JobsCore
from podkit.emulator.dataplane.jobs import MISSING, Job, JobPolicy, JobStatus

LEGACY_FORMAT = 1


def _legacy_job(data: dict[str, Any], now: float) -> Job:
    """One job of a `jobs.json` snapshot, whose times are ages before the snapshot."""
    timeout, ttl, low = data["policy"]
    submitted = now - float(data["age"])
    delay, finished_ago = data["delay"], data["finishedAgo"]
    return Job(
        id=data["id"],
        endpoint_id=data["endpointId"],
        input=data["input"],
        policy=JobPolicy(int(timeout), int(ttl), bool(low)),
        submitted_at=submitted,
        sync=bool(data["sync"]),
        webhook=data["webhook"],
        s3_config=data["s3Config"],
        status=JobStatus(data["status"]),
        worker_id=data["workerId"],
        started_at=None if delay is None else submitted + float(delay),
        finished_at=None if finished_ago is None else now - float(finished_ago),
        output=data.get("output", MISSING),
        error=data["error"],
        stream=list(data["stream"]),
        retries=int(data["retries"]),
        crash_requeues=int(data["crashRequeues"]),
    )


class PersistMixin(JobsCore):
    """`restore()` from the job database; `import_legacy(path)` of an old `jobs.json`."""

    def restore(self) -> int:
        """Adopt the stored jobs of the endpoints known now; returns how many."""
        if self.store is None:
            return 0
        stored = self.store.read(self._offset)
        with self._write():
            for endpoint_id, (completed, failed, retried) in stored.counters.items():
                state = self._endpoints.get(endpoint_id)
                if state is not None:
                    state.completed, state.failed, state.retried = completed, failed, retried
            restored = self._adopt_all(stored.jobs)
        self._notify_all()
        return restored

    def import_legacy(self, path: Path) -> int:
        """Adopt the jobs of an old `jobs.json` into the database, then rename the file to
        `jobs.json.imported` so they are read once (an unreadable one goes to `.unreadable`)."""
        if not path.exists():
            return 0
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            now = self.now()
            jobs = [_legacy_job(raw, now) for raw in data["jobs"]]
            counters = data["counters"] if data.get("format") == LEGACY_FORMAT else {}
        except (ValueError, KeyError, TypeError):
            path.replace(path.with_name(path.name + ".unreadable"))
            return 0
        with self._write():
            for endpoint_id, (completed, failed, retried) in counters.items():
                state = self._endpoints.get(endpoint_id)
                if state is not None:
                    state.completed += completed
                    state.failed += failed
                    state.retried += retried
                    self._dirty_endpoints.add(endpoint_id)
            restored = self._adopt_all(jobs)
        path.replace(path.with_name(path.name + ".imported"))
        self._notify_all()
        return restored

    def _adopt_all(self, jobs: list[Job]) -> int:
        adopted = [j for j in jobs if j.endpoint_id in self._endpoints and j.id not in self._jobs]
        for job in adopted:
            self._adopt(job)
        return len(adopted)

    def _notify_all(self) -> None:
        for endpoint_id in self.endpoint_ids():
            self._notify(endpoint_id)

    def _adopt(self, job: Job) -> None:
        state = self._endpoints[job.endpoint_id]
        self._jobs[job.id] = job
        self._changed(job)
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
