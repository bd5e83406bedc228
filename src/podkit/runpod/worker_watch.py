"""Watch an endpoint's worker list for a few seconds to catch workers that die young.

A crash-looping container rarely shows up in a single look at `/workers`: it starts, fails
before it is ready, and is replaced (often after a backoff). Sampling the list for a short
window and remembering every worker id seen reveals it: workers that appear and vanish
without ever becoming ready (IDLE or RUNNING), or that are listed as UNHEALTHY.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from podkit.runpod.diagnose import WorkerView

READY_STATES = frozenset({"IDLE", "RUNNING"})


@dataclass
class WatchResult:
    """Every worker seen during the watch, and those that died before becoming ready."""

    seen: dict[str, str] = field(default_factory=dict)
    ready: set[str] = field(default_factory=set)
    vanished: list[str] = field(default_factory=list)
    seconds: float = 0.0


def watch_workers(
    list_workers: Callable[[], Sequence[WorkerView]],
    *,
    seconds: float,
    enough: int = 2,
    interval: float = 0.25,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> WatchResult:
    """Sample the worker list for up to `seconds`; stop early once `enough` workers vanished."""
    result = WatchResult()
    started = clock()
    live: set[str] = set()
    while True:
        current = {worker.id: worker.status.upper() for worker in list_workers()}
        for worker_id, status in current.items():
            result.seen[worker_id] = status
            if status in READY_STATES:
                result.ready.add(worker_id)
            elif status == "UNHEALTHY" and worker_id not in result.vanished:
                result.vanished.append(worker_id)  # listed dead: it died young too
        for gone in sorted(live - set(current)):
            if gone not in result.ready and gone not in result.vanished:
                result.vanished.append(gone)
        live = set(current)
        result.seconds = clock() - started
        if len(result.vanished) >= enough or result.seconds >= seconds:
            return result
        sleep(interval)
