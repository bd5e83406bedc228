"""Tunable limits of the local data plane; defaults follow the platform."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1_000_000


@dataclass(frozen=True)
class DataPlaneSettings:
    """Every bound of the data plane in one place (tests shrink the timers)."""

    run_retention_s: float = 30 * 60
    runsync_retention_s: float = 60
    max_run_bytes: int = 10 * MB
    max_runsync_bytes: int = 20 * MB
    runsync_default_wait_ms: int = 90_000
    runsync_min_wait_ms: int = 1_000
    runsync_max_wait_ms: int = 300_000
    default_ttl_ms: int = 24 * 3600 * 1000
    # How long job-take / job-stop long-polls are held before answering 204.
    worker_poll_hold_s: float = 2.0
    # A job whose worker dies is queued again this many times, then FAILED.
    crash_retries: int = 1
    # A worker still busy with a stopped job after this long is terminated.
    stop_grace_s: float = 10.0
    max_jobs_per_endpoint: int = 100_000
    max_stream_chunks: int = 10_000
    max_log_lines_per_worker: int = 2_000
    max_exited_workers_listed: int = 20
    # RUNPOD_PING_INTERVAL for workers (the platform's default is 10 s; the heartbeat also
    # re-sends stop signals for jobs a worker still holds).
    ping_interval_ms: int = 2_000
    supervise_interval_s: float = 0.1
    webhook_retry_s: float = 10.0
