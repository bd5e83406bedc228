"""What the crash-safe job store costs: one job's submit, job-take and job-done on the jobs
backend with its SQLite store (three commits) against the same backend kept in memory only,
interleaved in one run (no HTTP, no worker: the store's own share)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from podkit.emulator.dataplane import DataPlaneSettings, EndpointRuntime, JobsBackend
from podkit.emulator.dataplane.store import JobStore

JOBS = 2_000
ROUNDS = 5


def _per_job_ms(store: JobStore | None) -> float:
    backend = JobsBackend(DataPlaneSettings(), store=store)
    backend.upsert_endpoint(EndpointRuntime("ep", "acct"))
    worker = backend.register_worker("ep", "token").id
    started = time.perf_counter()
    for n in range(JOBS):
        job = backend.submit("ep", {"input": {"echo": n}})
        backend.take_jobs("ep", worker, 1, in_progress=False)
        backend.job_done("ep", worker, job.id, {"output": {"echo": n}})
    return (time.perf_counter() - started) / JOBS * 1000


def main() -> None:
    """Print the median per-job time of each side over interleaved rounds, and the ratio."""
    memory, sqlite = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(ROUNDS):
            memory.append(_per_job_ms(None))
            store = JobStore(Path(tmp) / f"jobs-{n}.sqlite3")
            sqlite.append(_per_job_ms(store))
            store.close()
    mem, disk = statistics.median(memory), statistics.median(sqlite)
    print(f"submit + take + done, memory only:  {mem:.3f} ms per job (median of {ROUNDS})")
    print(f"submit + take + done, SQLite store: {disk:.3f} ms per job (median of {ROUNDS})")
    print(f"store's cost: {disk - mem:.3f} ms per job, ratio {disk / mem:.1f}x")


if __name__ == "__main__":
    main()
