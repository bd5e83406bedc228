"""The jobs backend's core: endpoints, the client operations, job transitions, deadlines."""

from __future__ import annotations

import contextlib
import heapq
import threading
import time
from collections.abc import Callable, Iterator
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
from podkit.emulator.dataplane.store import JobStore, StoreWriteError

Listener = Callable[[str], None]
WebhookHook = Callable[[str, dict[str, Any]], None]
# The states whose status body goes to the job's webhook.
WEBHOOK_STATES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.TIMED_OUT})


class JobsError(Exception):
    """A data-plane request the platform would refuse (HTTP status + message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class UnsavedError(JobsError):
    """A change the job database refused (a full disk): answered 503, saved with a later one."""

    def __init__(self, cause: StoreWriteError) -> None:
        super().__init__(503, f"the local RunPod {cause.message}; {cause.hint}")
        self.cause = cause


class JobsCore:
    """State and client operations; `JobsBackend` adds the worker protocol."""

    def __init__(
        self,
        settings: DataPlaneSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
        on_webhook: WebhookHook | None = None,
        store: JobStore | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or DataPlaneSettings()
        self._clock = clock
        self._on_webhook = on_webhook
        self._seed = seed
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self.store = store
        self._offset = wall() - clock()  # clock -> epoch seconds, for the store
        self._depth = 0
        self._dirty: dict[str, None] = {}
        self._dirty_endpoints: set[str] = set()
        self._outbox: list[tuple[str, dict[str, Any]]] = []
        self._forget_all()

    def reset(self) -> None:
        """Forget every endpoint, job and worker (ids restart from the seed), on disk too."""
        with self._write():
            self._forget_all()
            if self.store is not None:
                self.store.clear()

    def _forget_all(self) -> None:
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

    # -- durability ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self, undo: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold the lock for an operation; commit the jobs it changed before anyone hears of it
        (the caller answers and notifies after this block; webhooks go out here, after it).

        When the commit fails, `undo` takes back what nobody may learn of (a job never
        acknowledged) and the caller gets an `UnsavedError`; other changes stay in memory and
        go to disk with the next commit.
        """
        with self._lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                outbox = self._commit_or_undo(undo) if self._depth == 0 else []
        if self._on_webhook is not None:
            for url, body in outbox:
                self._on_webhook(url, body)

    def _changed(self, job: Job) -> None:
        self._dirty[job.id] = None
        self._dirty_endpoints.add(job.endpoint_id)

    def _commit_or_undo(self, undo: Callable[[], None] | None) -> list[tuple[str, dict[str, Any]]]:
        try:
            return self._commit()
        except StoreWriteError as exc:
            if undo is not None:
                undo()
            raise UnsavedError(exc) from exc

    def _commit(self) -> list[tuple[str, dict[str, Any]]]:
        if self.store is not None and self.store.closed and self._dirty:
            self._dirty.clear()
            self._dirty_endpoints.clear()
            raise JobsError(503, "the local RunPod is stopping; nothing was changed on disk")
        if self.store is not None and (self._dirty or self._dirty_endpoints):
            counters: dict[str, tuple[int, int, int] | None] = {}
            for endpoint_id in self._dirty_endpoints:
                state = self._endpoints.get(endpoint_id)
                counters[endpoint_id] = (
                    (state.completed, state.failed, state.retried) if state else None
                )
            self.store.write(
                [self._jobs[i] for i in self._dirty if i in self._jobs],
                [i for i in self._dirty if i not in self._jobs],
                counters,
                self._offset,
            )
        self._dirty.clear()
        self._dirty_endpoints.clear()
        outbox, self._outbox = self._outbox, []
        return outbox

    # -- endpoints -------------------------------------------------------------------------

    def upsert_endpoint(self, runtime: EndpointRuntime) -> None:
        """Create or update an endpoint's runtime settings; its jobs stay."""
        with self._write():
            state = self._endpoints.get(runtime.endpoint_id)
            if state is None:
                self._endpoints[runtime.endpoint_id] = EndpointState(runtime)
            else:
                state.runtime = runtime
        self._notify(runtime.endpoint_id)

    def delete_endpoint(self, endpoint_id: str) -> None:
        """Drop an endpoint and all its jobs."""
        with self._write():
            state = self._endpoints.pop(endpoint_id, None)
            if state is not None:
                self._dirty_endpoints.add(endpoint_id)
                for job_id in state.job_ids:
                    self._jobs.pop(job_id, None)
                    self._dirty[job_id] = None
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
        new: list[Job] = []
        with self._write(undo=lambda: self._unsubmit(new)):
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
            new.append(job)
            self._jobs[job.id] = job
            self._changed(job)
            state.job_ids.add(job.id)
            (state.low_queue if policy.low_priority else state.queue)[job.id] = None
            self._schedule(job.submitted_at + policy.ttl_ms / 1000, "ttl", job.id)
        self._notify(endpoint_id)
        return job

    def _unsubmit(self, jobs: list[Job]) -> None:
        """Forget submitted jobs the database never took: their submitter hears a 503."""
        for job in jobs:
            self._jobs.pop(job.id, None)
            self._dirty.pop(job.id, None)
            state = self._endpoints.get(job.endpoint_id)
            if state is not None:
                state.job_ids.discard(job.id)
                state.dequeue(job.id)

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
        with self._write():
            job = self.get(endpoint_id, job_id)
            chunks = job.stream[job.stream_read :]
            if chunks:
                job.stream_read = len(job.stream)
                self._changed(job)
            return {
                "id": job.id,
                "status": str(job.status),
                "stream": [{"output": chunk} for chunk in chunks],
            }

    def cancel(self, endpoint_id: str, job_id: str) -> dict[str, Any]:
        """Cancel a queued or running job; a final job stays as it is."""
        with self._write():
            job = self.get(endpoint_id, job_id)
            if not job.final:
                self._finish(job, JobStatus.CANCELLED)
        self._notify(endpoint_id)
        return {"id": job.id, "status": str(job.status)}

    def retry(self, endpoint_id: str, job_id: str) -> dict[str, Any]:
        """Queue a FAILED or TIMED_OUT job again under the same id."""
        with self._write():
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
        with self._write():
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
            workers.update(throttled=0, unhealthy=0)
            for worker in self._workers.values():
                if worker.endpoint_id != endpoint_id:
                    continue
                if worker.state is not WorkerState.EXITED:
                    workers[str(worker.state)] += 1
                elif worker.unhealthy:
                    workers["unhealthy"] += 1
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

    # -- job transitions (lock held) ------------------------------------------------------

    def _reset_for_queue(self, job: Job) -> None:
        self._changed(job)
        job.status = JobStatus.IN_QUEUE
        job.worker_id = None
        job.started_at = job.finished_at = None
        job.output = MISSING
        job.error = None
        job.stream.clear()
        job.stream_read = 0

    def _finish(self, job: Job, status: JobStatus, *, error: str | None = None) -> None:
        self._changed(job)
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
        if job.webhook and status in WEBHOOK_STATES:
            self._outbox.append((job.webhook, job.status_body()))

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
        self._changed(job)
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
        with self._write():
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
