"""The jobs backend: plain, thread-safe state for every endpoint's queue, jobs and workers.

HTTP layers translate requests into these calls; the supervisor drives `tick()` and the
worker lifecycle. Every change notifies listeners (by endpoint id) so waiting requests wake.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from typing import Any

from podkit.emulator.dataplane.jobs import (
    MISSING,
    IdFactory,
    Job,
    JobStatus,
    PolicyError,
    parse_policy,
)
from podkit.emulator.dataplane.runtime import EndpointRuntime
from podkit.emulator.dataplane.settings import DataPlaneSettings
from podkit.emulator.dataplane.state import EndpointState, WorkerRecord, WorkerState

Listener = Callable[[str], None]


class JobsError(Exception):
    """A data-plane request the platform would refuse (HTTP status + message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class JobsBackend:
    """Queues, jobs and workers of all endpoints; safe to call from any thread."""

    def __init__(
        self,
        settings: DataPlaneSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
    ) -> None:
        self.settings = settings or DataPlaneSettings()
        self._clock = clock
        self._seed = seed
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self.reset()

    def reset(self) -> None:
        """Forget every endpoint, job and worker (ids restart from the seed)."""
        with self._lock:
            self.ids = IdFactory(self._seed)
            self._endpoints: dict[str, EndpointState] = {}
            self._jobs: dict[str, Job] = {}
            self._workers: dict[str, WorkerRecord] = {}
            self._deadlines: list[tuple[float, int, str, str]] = []
            self._seq = 0

    def now(self) -> float:
        """The backend's clock (monotonic seconds)."""
        return self._clock()

    def add_listener(self, listener: Listener) -> None:
        """Call `listener(endpoint_id)` after every change to that endpoint's jobs or workers."""
        self._listeners.append(listener)

    def _notify(self, endpoint_id: str) -> None:
        for listener in self._listeners:
            listener(endpoint_id)

    # -- endpoints -------------------------------------------------------------------------

    def upsert_endpoint(self, runtime: EndpointRuntime) -> None:
        """Create or update an endpoint's runtime settings; its jobs stay."""
        with self._lock:
            state = self._endpoints.get(runtime.endpoint_id)
            if state is None:
                self._endpoints[runtime.endpoint_id] = EndpointState(runtime)
            else:
                state.runtime = runtime
        self._notify(runtime.endpoint_id)

    def delete_endpoint(self, endpoint_id: str) -> None:
        """Drop an endpoint and all its jobs."""
        with self._lock:
            state = self._endpoints.pop(endpoint_id, None)
            if state is not None:
                for job_id in state.job_ids:
                    self._jobs.pop(job_id, None)
        self._notify(endpoint_id)

    def runtime(self, endpoint_id: str) -> EndpointRuntime | None:
        """The endpoint's runtime settings, or None when unknown."""
        with self._lock:
            state = self._endpoints.get(endpoint_id)
            return state.runtime if state else None

    def endpoint_ids(self) -> list[str]:
        """All known endpoint ids."""
        with self._lock:
            return list(self._endpoints)

    def _endpoint(self, endpoint_id: str) -> EndpointState:
        state = self._endpoints.get(endpoint_id)
        if state is None:
            raise JobsError(404, f"endpoint {endpoint_id!r} does not exist")
        return state

    # -- client operations -----------------------------------------------------------------

    def submit(self, endpoint_id: str, body: object, *, sync: bool = False) -> Job:
        """Queue a job from a `/run` or `/runsync` body."""
        if not isinstance(body, dict) or "input" not in body:
            raise JobsError(400, 'the request body must be a JSON object with an "input" field')
        webhook = body.get("webhook")
        if webhook is not None and not isinstance(webhook, str):
            raise JobsError(400, "webhook must be a URL string")
        with self._lock:
            state = self._endpoint(endpoint_id)
            if len(state.job_ids) >= self.settings.max_jobs_per_endpoint:
                raise JobsError(429, f"endpoint {endpoint_id!r} holds too many jobs; retry later")
            try:
                policy = parse_policy(
                    body.get("policy"),
                    execution_timeout_ms=state.runtime.execution_timeout_ms,
                    ttl_ms=self.settings.default_ttl_ms,
                )
            except PolicyError as exc:
                raise JobsError(400, str(exc)) from None
            job = Job(
                id=self.ids.job_id(sync=sync),
                endpoint_id=endpoint_id,
                input=body["input"],
                policy=policy,
                submitted_at=self.now(),
                sync=sync,
                webhook=webhook,
                s3_config=body.get("s3Config"),
            )
            self._jobs[job.id] = job
            state.job_ids.add(job.id)
            (state.low_queue if policy.low_priority else state.queue)[job.id] = None
            self._schedule(job.submitted_at + policy.ttl_ms / 1000, "ttl", job.id)
        self._notify(endpoint_id)
        return job

    def get(self, endpoint_id: str, job_id: str) -> Job:
        """A job of this endpoint; 404 once unknown, expired or past its TTL."""
        with self._lock:
            self._endpoint(endpoint_id)
            job = self._jobs.get(job_id)
            if job is None or job.endpoint_id != endpoint_id:
                raise JobsError(404, f"job {job_id!r} does not exist (or its results expired)")
            return job

    def status_body(self, endpoint_id: str, job_id: str) -> dict[str, Any]:
        """The `/status` body of a job."""
        with self._lock:
            return self.get(endpoint_id, job_id).status_body()

    def read_stream(self, endpoint_id: str, job_id: str) -> dict[str, Any]:
        """The `/stream` body: the chunks not yet read, plus the job's status."""
        with self._lock:
            job = self.get(endpoint_id, job_id)
            chunks = job.stream[job.stream_read :]
            job.stream_read = len(job.stream)
            return {
                "id": job.id,
                "status": str(job.status),
                "stream": [{"output": chunk} for chunk in chunks],
            }

    def cancel(self, endpoint_id: str, job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job; a final job stays as it is."""
        with self._lock:
            job = self.get(endpoint_id, job_id)
            if not job.final:
                self._finish(job, JobStatus.CANCELLED)
        self._notify(endpoint_id)
        return {"id": job.id, "status": str(job.status)}

    def retry(self, endpoint_id: str, job_id: str) -> dict[str, Any]:
        """Queue a FAILED or TIMED_OUT job again under the same id."""
        with self._lock:
            job = self.get(endpoint_id, job_id)
            if job.status not in (JobStatus.FAILED, JobStatus.TIMED_OUT):
                raise JobsError(
                    400, f"job {job_id!r} is {job.status}; only FAILED or TIMED_OUT jobs can retry"
                )
            state = self._endpoint(endpoint_id)
            self._reset_for_queue(job)
            job.retries += 1
            state.retried += 1
            (state.low_queue if job.policy.low_priority else state.queue)[job.id] = None
        self._notify(endpoint_id)
        return {"id": job.id, "status": str(job.status)}

    def purge_queue(self, endpoint_id: str) -> dict[str, Any]:
        """Cancel every queued job of the endpoint (running jobs are untouched)."""
        with self._lock:
            state = self._endpoint(endpoint_id)
            queued = [*state.requeued, *state.queue, *state.low_queue]
            for job_id in queued:
                self._finish(self._jobs[job_id], JobStatus.CANCELLED)
        self._notify(endpoint_id)
        return {"removed": len(queued), "status": "completed"}

    def health(self, endpoint_id: str) -> dict[str, Any]:
        """The `/health` body: job counts and worker counts by state."""
        with self._lock:
            state = self._endpoint(endpoint_id)
            workers = {str(s): 0 for s in WorkerState if s is not WorkerState.EXITED}
            for worker in self._workers.values():
                if worker.endpoint_id == endpoint_id and worker.state is not WorkerState.EXITED:
                    workers[str(worker.state)] += 1
            workers.update(throttled=0, unhealthy=0)
            return {
                "jobs": {
                    "completed": state.completed,
                    "failed": state.failed,
                    "inProgress": len(state.in_progress),
                    "inQueue": state.queued_count(),
                    "retried": state.retried,
                },
                "workers": workers,
            }

    def queue_pressure(self, endpoint_id: str) -> tuple[int, int]:
        """(jobs that may scale workers up, jobs in progress) for the supervisor."""
        with self._lock:
            state = self._endpoints.get(endpoint_id)
            if state is None:
                return 0, 0
            return state.queued_count(include_low=False), len(state.in_progress)

    def queued_total(self, endpoint_id: str) -> int:
        """All queued jobs, low priority included."""
        with self._lock:
            state = self._endpoints.get(endpoint_id)
            return state.queued_count() if state else 0

    # -- job transitions (lock held) ------------------------------------------------------

    def _reset_for_queue(self, job: Job) -> None:
        job.status = JobStatus.IN_QUEUE
        job.worker_id = None
        job.started_at = job.finished_at = None
        job.output = MISSING
        job.error = None
        job.stream.clear()
        job.stream_read = 0

    def _finish(self, job: Job, status: JobStatus, *, error: str | None = None) -> None:
        state = self._endpoints[job.endpoint_id]
        state.dequeue(job.id)
        state.in_progress.discard(job.id)
        if job.worker_id is not None and job.status is JobStatus.IN_PROGRESS:
            self._release(job, stop=status is not JobStatus.COMPLETED)
        job.status = status
        job.finished_at = self.now()
        if error is not None:
            job.error = error
        if status is JobStatus.COMPLETED:
            state.completed += 1
        elif status in (JobStatus.FAILED, JobStatus.TIMED_OUT):
            state.failed += 1
        self._schedule(job.finished_at + self._retention(job), "retain", job.id)

    def _retention(self, job: Job) -> float:
        return self.settings.runsync_retention_s if job.sync else self.settings.run_retention_s

    def _release(self, job: Job, *, stop: bool) -> None:
        worker = self._workers.get(job.worker_id or "")
        if worker is None:
            return
        worker.jobs.discard(job.id)
        if stop:
            worker.pending_stops.append(job.id)
            worker.stopping[job.id] = self.now()
        if not worker.jobs and worker.state is WorkerState.RUNNING:
            worker.state = WorkerState.IDLE
            worker.idle_since = self.now()

    def _schedule(self, when: float, kind: str, job_id: str) -> None:
        self._seq += 1
        heapq.heappush(self._deadlines, (when, self._seq, kind, job_id))

    def _expire(self, job: Job) -> None:
        if not job.final:
            self._finish(job, JobStatus.CANCELLED)
        state = self._endpoints.get(job.endpoint_id)
        if state is not None:
            state.job_ids.discard(job.id)
        self._jobs.pop(job.id, None)

    def _retention_due(self, job: Job, when: float) -> bool:
        # A retried job that finished again has a newer deadline; this one is stale.
        if not job.final or job.finished_at is None:
            return False
        return when >= job.finished_at + self._retention(job) - 1e-9

    def tick(self) -> None:
        """Apply every due deadline: execution timeouts, TTL expiry and result retention."""
        touched: set[str] = set()
        with self._lock:
            now = self.now()
            while self._deadlines and self._deadlines[0][0] <= now:
                when, _, kind, job_id = heapq.heappop(self._deadlines)
                job = self._jobs.get(job_id)
                if job is None:
                    continue
                if kind == "exec" and job.status is JobStatus.IN_PROGRESS:
                    started = now if job.started_at is None else job.started_at
                    deadline = started + job.policy.execution_timeout_ms / 1000
                    if deadline <= now:
                        limit = job.policy.execution_timeout_ms
                        self._finish(
                            job, JobStatus.TIMED_OUT, error=f"execution timeout of {limit} ms"
                        )
                        touched.add(job.endpoint_id)
                elif kind == "ttl" or (kind == "retain" and self._retention_due(job, when)):
                    self._expire(job)
                    touched.add(job.endpoint_id)
        for endpoint_id in touched:
            self._notify(endpoint_id)

    # -- worker protocol -------------------------------------------------------------------

    def register_worker(self, endpoint_id: str, token: str) -> WorkerRecord:
        """A new worker process is starting for this endpoint; `token` authenticates it."""
        with self._lock:
            self._endpoint(endpoint_id)
            worker = WorkerRecord(
                self.ids.worker_id(),
                endpoint_id,
                started_at=self.now(),
                token=token,
                version=self._endpoint(endpoint_id).runtime.version,
            )
            self._workers[worker.id] = worker
        self._notify(endpoint_id)
        return worker

    def worker(self, worker_id: str) -> WorkerRecord | None:
        """A worker's record (exited ones included until forgotten)."""
        with self._lock:
            return self._workers.get(worker_id)

    def workers(self, endpoint_id: str) -> list[WorkerRecord]:
        """The endpoint's worker records, oldest first."""
        with self._lock:
            return [w for w in self._workers.values() if w.endpoint_id == endpoint_id]

    def _live_worker(self, endpoint_id: str, worker_id: str) -> WorkerRecord:
        worker = self._workers.get(worker_id)
        if worker is None or worker.endpoint_id != endpoint_id:
            raise JobsError(404, f"worker {worker_id!r} is unknown to endpoint {endpoint_id!r}")
        if worker.state is WorkerState.EXITED:
            raise JobsError(410, f"worker {worker_id!r} has exited")
        worker.last_seen = self.now()
        return worker

    def take_jobs(
        self, endpoint_id: str, worker_id: str, count: int, *, in_progress: bool
    ) -> list[dict[str, Any]]:
        """Hand up to `count` queued jobs to a worker (job-take / job-take-batch)."""
        with self._lock:
            state = self._endpoint(endpoint_id)
            worker = self._live_worker(endpoint_id, worker_id)
            if not in_progress:
                worker.stopping.clear()
            taken: list[Job] = []
            while (
                not worker.retiring
                and len(taken) < count
                and (job_id := state.pop_next()) is not None
            ):
                taken.append(self._start(self._jobs[job_id], worker, state))
            if worker.state is WorkerState.INITIALIZING and not taken:
                worker.state = WorkerState.IDLE
                worker.idle_since = self.now()
        if taken:
            self._notify(endpoint_id)
        return [job.worker_payload() for job in taken]

    def _start(self, job: Job, worker: WorkerRecord, state: EndpointState) -> Job:
        job.status = JobStatus.IN_PROGRESS
        job.worker_id = worker.id
        job.started_at = self.now()
        state.in_progress.add(job.id)
        worker.jobs.add(job.id)
        worker.state = WorkerState.RUNNING
        worker.idle_since = None
        self._schedule(job.started_at + job.policy.execution_timeout_ms / 1000, "exec", job.id)
        return job

    def _worker_job(self, endpoint_id: str, worker_id: str, job_id: str) -> Job | None:
        """The job if this worker still owns it; a late report for a stopped job is dropped."""
        worker = self._live_worker(endpoint_id, worker_id)
        job = self._jobs.get(job_id)
        if job is None or job.final:
            worker.stopping.pop(job_id, None)
        if job is None or job.worker_id != worker_id or job.status is not JobStatus.IN_PROGRESS:
            return None
        return job

    def job_done(self, endpoint_id: str, worker_id: str, job_id: str, body: object) -> bool:
        """A worker's job-done post: a progress update or the final result."""
        if not isinstance(body, dict):
            raise JobsError(400, "job-done body must be a JSON object")
        with self._lock:
            job = self._worker_job(endpoint_id, worker_id, job_id)
            if job is None:
                return False
            if body.get("status") == "IN_PROGRESS":
                job.output = body.get("output")
            else:
                self._complete(job, body)
        self._notify(endpoint_id)
        return True

    def _complete(self, job: Job, body: dict[str, Any]) -> None:
        if "output" in body:
            job.output = body["output"]
        if body.get("stopPod"):
            self._workers[job.worker_id or ""].refresh_requested = True
        self._workers[job.worker_id or ""].jobs_done += 1
        if body.get("error"):
            self._finish(job, JobStatus.FAILED, error=str(body["error"]))
        else:
            self._finish(job, JobStatus.COMPLETED)

    def job_stream(self, endpoint_id: str, worker_id: str, job_id: str, body: object) -> bool:
        """A worker's job-stream post: one `{"output": chunk}`."""
        if not isinstance(body, dict) or "output" not in body:
            raise JobsError(400, 'job-stream body must be a JSON object with an "output" field')
        with self._lock:
            job = self._worker_job(endpoint_id, worker_id, job_id)
            if job is None:
                return False
            if len(job.stream) >= self.settings.max_stream_chunks:
                raise JobsError(400, f"job {job_id!r} exceeded the stream chunk limit")
            job.stream.append(body["output"])
        self._notify(endpoint_id)
        return True

    def ping(self, endpoint_id: str, worker_id: str, job_ids: list[str] | None = None) -> None:
        """A worker's heartbeat, listing the jobs it still holds.

        A stopped job that is gone from the list has ended; one still listed gets its stop
        signal again (the first may have arrived before the job's task existed).
        """
        with self._lock:
            worker = self._live_worker(endpoint_id, worker_id)
            if job_ids is None:
                return
            for job_id in list(worker.stopping):
                if job_id not in job_ids:
                    del worker.stopping[job_id]
                elif job_id not in worker.pending_stops:
                    worker.pending_stops.append(job_id)
        self._notify(endpoint_id)

    def take_stop_signals(self, endpoint_id: str, worker_id: str) -> list[str]:
        """Job ids this worker must stop (cancelled, timed out, expired)."""
        with self._lock:
            worker = self._live_worker(endpoint_id, worker_id)
            signals, worker.pending_stops = worker.pending_stops, []
            return signals

    def worker_exited(self, worker_id: str, exit_code: int | None) -> list[str]:
        """A worker process ended: its jobs are queued again once, then FAILED.

        Returns the ids of the jobs it held.
        """
        with self._lock:
            worker = self._workers.get(worker_id)
            if worker is None or worker.state is WorkerState.EXITED:
                return []
            worker.state = WorkerState.EXITED
            worker.exit_code = exit_code
            held = sorted(worker.jobs)
            worker.orphaned = held
            for job_id in held:
                self._orphaned(self._jobs[job_id], worker, exit_code)
            worker.jobs.clear()
            worker.stopping.clear()
        self._notify(worker.endpoint_id)
        return held

    def _orphaned(self, job: Job, worker: WorkerRecord, exit_code: int | None) -> None:
        state = self._endpoints[job.endpoint_id]
        if job.crash_requeues < self.settings.crash_retries:
            state.in_progress.discard(job.id)
            self._reset_for_queue(job)
            job.crash_requeues += 1
            job.retries += 1
            state.retried += 1
            state.requeued[job.id] = None
            return
        self._finish(
            job,
            JobStatus.FAILED,
            error=f"worker {worker.id} exited unexpectedly (exit code {exit_code}) "
            "while running this job",
        )

    def retire_worker(self, worker_id: str) -> None:
        """The worker is being scaled down: hand it no more jobs."""
        with self._lock:
            worker = self._workers.get(worker_id)
            if worker is not None:
                worker.retiring = True

    def forget_worker(self, worker_id: str) -> None:
        """Drop an exited worker's record."""
        with self._lock:
            self._workers.pop(worker_id, None)
