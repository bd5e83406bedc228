"""A crash watch on an endpoint's workers while a command waits for its jobs to start.

A job waits IN_QUEUE as long as the caller allows (`--timeout`, or for ever) when every worker
dies before it is ready. `podkit test`, `podkit run` and `podkit models sync` on an endpoint
watch the worker list meanwhile (`podkit.runpod.crash_watch`) and stop with the workers' last
words instead. The watch ends once a job runs: a worker took it, so they start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from podkit.cli.release_gate import last_lines
from podkit.errors import PodkitError
from podkit.runpod import connect
from podkit.runpod.crash_watch import CrashWatch, SeenWorker
from podkit.runpod.job_types import JobStatus
from podkit.runpod.jobs import JobsClient, JobUpdate
from podkit.runpod.lb_requests import LbClient


@contextmanager
def crash_watch(client: JobsClient | LbClient, target: str | None) -> Iterator[CrashWatch | None]:
    """A watch on the queue endpoint's workers; None for a load-balancing endpoint, whose
    calls are plain requests, and where the control plane cannot be reached (the watch only
    helps: the job is followed either way)."""
    if isinstance(client, LbClient):
        yield None
        return
    endpoint_id = client.endpoint_id
    try:
        opened = connect("v2", target=target)
    except PodkitError:
        yield None
        return
    with opened as control:

        def listed() -> list[SeenWorker]:
            workers = control.workers.list(endpoint_id).workers
            return [SeenWorker(w.id, w.status, w.version, w.is_stale) for w in workers]

        watch = CrashWatch(
            listed,
            lambda worker_id: last_lines(control, endpoint_id, worker_id),
            version=None,
        )
        with watch:
            yield watch


def check_while_queued(watch: CrashWatch | None, update: JobUpdate) -> None:
    """On each look at a job: raise CrashLoopError once the watch found a loop; stop the
    watch once the job left the queue (a worker runs it)."""
    if watch is None:
        return
    watch.check()
    if update.job.status is not JobStatus.IN_QUEUE:
        watch.stop()
