"""Why jobs are not moving: read `/health`, the worker list and restart counts (pure).

The case users misread most: jobs sit IN_QUEUE while the endpoint's workers keep restarting.
It looks like missing GPU capacity, but the container is crash-looping, and more workers or
GPU types will not help; its log will.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from podkit.runpod.job_types import EndpointHealth

CRASH_LOOP_RESTARTS = 2


@dataclass(frozen=True)
class WorkerView:
    """One active worker as the v2 worker list reports it."""

    id: str
    status: str
    uptime_seconds: int | None = None
    is_stale: bool = False


def worker_counts(health: EndpointHealth, workers: Sequence[WorkerView] | None) -> dict[str, int]:
    """Workers by state (idle, running, throttled, ...), from the worker list when known."""
    if workers is None:
        return dict(health.workers)
    counts: dict[str, int] = {}
    for worker in workers:
        key = worker.status.lower()
        counts[key] = counts.get(key, 0) + 1
    return counts


def crash_looping(
    workers: Sequence[WorkerView] | None,
    restarts: Mapping[str, int] | None = None,
    died_young: Sequence[str] = (),
) -> list[str]:
    """Ids of workers that keep dying: UNHEALTHY, restarted repeatedly, or gone before ready."""
    return sorted(
        {w.id for w in workers or () if w.status.upper() == "UNHEALTHY"}
        | {wid for wid, n in (restarts or {}).items() if n >= CRASH_LOOP_RESTARTS}
        | set(died_young)
    )


def diagnose(
    health: EndpointHealth,
    workers: Sequence[WorkerView] | None,
    restarts: Mapping[str, int] | None = None,
    *,
    died_young: Sequence[str] = (),
    last_words: Mapping[str, str] | None = None,
) -> list[str]:
    """Plain findings, most important first; empty when nothing looks wrong.

    `restarts` counts container starts per worker (from its system log lines); `died_young`
    lists workers seen to exit before they were ever ready; `last_words` holds the last
    line a worker printed, quoted as evidence.
    """
    restarts = restarts or {}
    counts = worker_counts(health, workers)
    queued = health.jobs.in_queue
    findings: list[str] = []
    looping = crash_looping(workers, restarts, died_young)
    if looping:
        findings.append(_crash_loop(queued, looping, last_words or {}))
    ready = counts.get("idle", 0) + counts.get("running", 0)
    if queued and not looping and not ready:
        if counts.get("throttled", 0):
            findings.append(
                f"{queued} job(s) wait IN_QUEUE and every worker is THROTTLED: no GPU capacity "
                "of the allowed types; add GPU types or datacenters in podkit.toml [endpoint]"
            )
        elif counts.get("initializing", 0):
            findings.append(
                f"{queued} job(s) wait IN_QUEUE while workers start (cold start: image pull, "
                "model load); a minimum of warm workers (endpoint.workers_min) avoids it"
            )
        elif not sum(counts.values()):
            findings.append(
                f"{queued} job(s) wait IN_QUEUE and no worker is allocated; check "
                "endpoint.workers_max and the account's worker quota"
            )
    stale = [w.id for w in workers or () if w.is_stale]
    if stale:
        findings.append(f"{len(stale)} worker(s) still run an older release (rollout ongoing)")
    return findings


def _crash_loop(queued: int, looping: Sequence[str], last_words: Mapping[str, str]) -> str:
    quoted = next(
        (f"{w} last printed: {last_words[w]!r}. " for w in looping if w in last_words), ""
    )
    where = f"read `podkit logs --worker {looping[0]}`"
    if not queued:
        return f"worker(s) {', '.join(looping)} keep restarting (crash loop). {quoted}{where}"
    return (
        f"{queued} job(s) wait IN_QUEUE while workers keep restarting ({', '.join(looping)}): "
        f"the worker is crash-looping, this is not missing capacity. {quoted}{where.capitalize()}"
        ", fix the image or its settings, and `podkit apply`"
    )
