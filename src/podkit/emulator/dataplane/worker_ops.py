"""The worker protocol half of the jobs backend: registration, job-take, results, stops."""

from __future__ import annotations

from typing import Any

from podkit.emulator.dataplane.core import JobsCore, JobsError
from podkit.emulator.dataplane.jobs import Job, JobStatus
from podkit.emulator.dataplane.state import EndpointState, WorkerRecord, WorkerState


class WorkerOpsMixin(JobsCore):
    """What workers do to jobs, and what happens when a worker goes away."""

    # -- worker protocol -------------------------------------------------------------------

    def register_worker(self, endpoint_id: str, token: str) -> WorkerRecord:
        """A new worker process is starting for this endpoint; `token` authenticates it."""
        with self._write():
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
        taken: list[Job] = []
        with self._write(undo=lambda: self._untake(taken)):
            state = self._endpoint(endpoint_id)
            worker = self._live_worker(endpoint_id, worker_id)
            if not in_progress:
                worker.stopping.clear()
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

    def _untake(self, taken: list[Job]) -> None:
        """Queue jobs again, first in line, whose hand-over the database refused."""
        for job in reversed(taken):
            state = self._endpoints[job.endpoint_id]
            state.in_progress.discard(job.id)
            self._release(job, stop=False)
            self._reset_for_queue(job)
            state.requeued = {job.id: None, **state.requeued}

    def _start(self, job: Job, worker: WorkerRecord, state: EndpointState) -> Job:
        self._changed(job)
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
        with self._write():
            job = self._worker_job(endpoint_id, worker_id, job_id)
            if job is None:
                return False
            self._changed(job)
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
        with self._write():
            job = self._worker_job(endpoint_id, worker_id, job_id)
            if job is None:
                return False
            if len(job.stream) >= self.settings.max_stream_chunks:
                raise JobsError(400, f"job {job_id!r} exceeded the stream chunk limit")
            job.stream.append(body["output"])
            self._changed(job)
        self._notify(endpoint_id)
        return True

    def ping(self, endpoint_id: str, worker_id: str, job_ids: list[str] | None = None) -> None:
        """A worker's heartbeat, listing the jobs it still holds.

        A stopped job that is gone from the list has ended; one still listed gets its stop
        signal again (the first may have arrived before the job's task existed).
        """
        with self._write():
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
        with self._write():
            worker = self._live_worker(endpoint_id, worker_id)
            signals, worker.pending_stops = worker.pending_stops, []
            return signals

    def worker_exited(self, worker_id: str, exit_code: int | None) -> list[str]:
        """A worker process ended: its jobs are queued again once, then FAILED.

        Returns the ids of the jobs it held.
        """
        with self._write():
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
        with self._write():
            worker = self._workers.get(worker_id)
            if worker is not None:
                worker.retiring = True

    def set_unhealthy(self, worker_id: str, unhealthy: bool) -> None:
        """Count an exited worker in `/health` as unhealthy (a failed start), or stop to."""
        with self._write():
            worker = self._workers.get(worker_id)
            if worker is not None:
                worker.unhealthy = unhealthy

    def forget_worker(self, worker_id: str) -> None:
        """Drop an exited worker's record."""
        with self._write():
            self._workers.pop(worker_id, None)
