"""Per-endpoint and per-worker records held by the jobs backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from podkit.emulator.dataplane.runtime import EndpointRuntime


class WorkerState(StrEnum):
    """A worker's state as `/health` and the worker list report it."""

    INITIALIZING = "initializing"
    IDLE = "idle"
    RUNNING = "running"
    EXITED = "exited"


@dataclass
class WorkerRecord:
    """What the platform knows about one worker (the process lives in the supervisor)."""

    id: str
    endpoint_id: str
    started_at: float
    token: str = ""
    version: int | None = None
    state: WorkerState = WorkerState.INITIALIZING
    jobs: set[str] = field(default_factory=set)
    # Jobs the worker was told to stop but may still be running (a sync handler cannot be
    # interrupted); cleared when the worker asks for work with nothing in progress.
    stopping: dict[str, float] = field(default_factory=dict)
    pending_stops: list[str] = field(default_factory=list)
    last_seen: float | None = None
    idle_since: float | None = None
    refresh_requested: bool = False
    retiring: bool = False
    jobs_done: int = 0
    exit_code: int | None = None
    # Exited before it was ever ready, and still listed as UNHEALTHY by the supervisor.
    unhealthy: bool = False
    # The jobs it held when it exited (queued again or failed).
    orphaned: list[str] = field(default_factory=list)


@dataclass
class EndpointState:
    """One endpoint's queues and cumulative counters."""

    runtime: EndpointRuntime
    # Dicts as ordered sets: O(1) removal on cancel, FIFO on take.
    requeued: dict[str, None] = field(default_factory=dict)
    queue: dict[str, None] = field(default_factory=dict)
    low_queue: dict[str, None] = field(default_factory=dict)
    in_progress: set[str] = field(default_factory=set)
    job_ids: set[str] = field(default_factory=set)
    completed: int = 0
    failed: int = 0
    retried: int = 0

    def queued_count(self, *, include_low: bool = True) -> int:
        """Jobs waiting for a worker (low-priority ones optionally left out)."""
        low = len(self.low_queue) if include_low else 0
        return len(self.requeued) + len(self.queue) + low

    def dequeue(self, job_id: str) -> None:
        """Drop a job from whichever queue holds it."""
        for queue in (self.requeued, self.queue, self.low_queue):
            queue.pop(job_id, None)

    def pop_next(self) -> str | None:
        """The next job to hand out: retried ones first, low priority last."""
        for queue in (self.requeued, self.queue, self.low_queue):
            if queue:
                job_id = next(iter(queue))
                del queue[job_id]
                return job_id
        return None
