"""The jobs backend: plain, thread-safe state for every endpoint's queue, jobs and workers.

HTTP layers translate requests into these calls; the supervisor drives `tick()` and the
worker lifecycle. Every change notifies listeners (by endpoint id) so waiting requests wake.
`core` holds the state, client operations and deadlines; `worker_ops` the worker protocol;
`store` writes every change to SQLite before it is acknowledged; `persist` reads the jobs
back after a restart or a crash.
"""

from __future__ import annotations

from podkit.emulator.dataplane.core import JobsError
from podkit.emulator.dataplane.persist import PersistMixin
from podkit.emulator.dataplane.worker_ops import WorkerOpsMixin


class JobsBackend(WorkerOpsMixin, PersistMixin):
    """Queues, jobs and workers of all endpoints; safe to call from any thread."""


__all__ = ["JobsBackend", "JobsError"]
