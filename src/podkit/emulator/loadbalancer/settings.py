"""Tunable limits of the local load balancer; defaults follow the platform."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1_000_000


@dataclass(frozen=True)
class LoadBalancerSettings:
    """Every bound of the load balancer in one place (tests shrink the timers)."""

    # A request waits this long for a ready worker, then gets `no workers available`.
    no_worker_wait_s: float = 120.0
    # One request (including a streamed answer) may take this long end to end.
    request_timeout_s: float = 330.0
    max_payload_bytes: int = 30 * MB
    # How often each worker's health path is asked, and how long one answer may take.
    health_interval_s: float = 0.5
    health_timeout_s: float = 2.0
    supervise_interval_s: float = 0.1
    # A worker asked to stop is killed after this long.
    stop_grace_s: float = 5.0
    max_log_lines_per_worker: int = 2_000
    # Workers that failed (unhealthy, exited) stay listed as UNHEALTHY this long.
    unhealthy_listed_s: float = 60.0
    max_backoff_s: float = 30.0
