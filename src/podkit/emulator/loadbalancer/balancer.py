"""Runs each load-balancing endpoint's workers and hands requests to ready ones.

One background thread ticks: it reads each worker's health path (200 ready, 204
initializing, anything else unhealthy: out of routing and replaced), scales on requests
(waiting + in flight, `requestCount` per worker, up to `workers.max`), stops workers idle
for the endpoint's idle timeout down to `workers.min`, and replaces workers of an older
endpoint version once idle. Requests wait in `acquire` (asyncio) for a ready worker.
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import logging
import math
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from podkit.emulator.dataplane.gpu_shim import write_shim
from podkit.emulator.dataplane.process import WorkerProcess
from podkit.emulator.loadbalancer.settings import LoadBalancerSettings
from podkit.emulator.loadbalancer.workers import (
    Health,
    LbWorker,
    Pool,
    command_for,
    health_path,
    ports_for,
    worker_env,
)
from podkit.emulator.runtime import EndpointSpec, LogLine, WorkerInfo

LOAD_BALANCER = "LOAD_BALANCER"
log = logging.getLogger("podkit.emulator.loadbalancer")
RequestCount = Callable[[str], int]  # endpoint id -> requests per worker


class LoadBalancer:
    """Workers and routing for every LOAD_BALANCER endpoint (an `EndpointListener`)."""

    def __init__(
        self,
        state_dir: Path,
        *,
        settings: LoadBalancerSettings | None = None,
        request_count: RequestCount = lambda _: 1,
        gpu_types: Callable[[str], str | None] = lambda _: None,
        worker_cwd: Path | None = None,
    ) -> None:
        self.settings = settings or LoadBalancerSettings()
        self.state_dir = state_dir
        # Where workers run unless their endpoint names a directory: as the queue's workers,
        # the directory the local RunPod started in (or --worker-cwd).
        self.worker_cwd = worker_cwd or Path.cwd()
        self._request_count = request_count
        self._gpu_types = gpu_types
        self._specs: dict[str, EndpointSpec] = {}
        self._pools: dict[str, Pool] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self._health = httpx.Client(timeout=self.settings.health_timeout_s, trust_env=False)
        atexit.register(self.close)

    # -- EndpointListener ----------------------------------------------------------------------

    def endpoint_upserted(self, spec: EndpointSpec) -> None:
        if spec.endpoint_type != LOAD_BALANCER:
            self.endpoint_deleted(spec.endpoint_id)
            return
        with self._lock:
            self._specs[spec.endpoint_id] = spec
            self._pools.setdefault(spec.endpoint_id, Pool())

    def endpoint_deleted(self, endpoint_id: str) -> None:
        with self._lock:
            self._specs.pop(endpoint_id, None)
            pool = self._pools.pop(endpoint_id, None)
        if pool is not None:  # outside the lock: requests keep flowing while workers stop
            self._end_pool(endpoint_id, pool)

    def endpoint_type(self, endpoint_id: str) -> str | None:
        """LOAD_BALANCER for endpoints served here, else None."""
        with self._lock:
            return LOAD_BALANCER if endpoint_id in self._specs else None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, origin: str = "") -> None:
        """Start supervising (the origin is not needed: workers never call back)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="podkit-lb", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """End every worker process (SIGTERM, then SIGKILL after the grace), idempotent."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None
        with self._lock:
            ids = list(self._specs)
        for endpoint_id in ids:
            self.endpoint_deleted(endpoint_id)
        self._health.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.supervise_interval_s):
            try:
                self.tick()
            except Exception:  # a bad tick must not end supervision
                log.exception("load balancer tick failed")

    # -- routing (called from the server's event loop) -------------------------------------------

    async def acquire(self, endpoint_id: str) -> LbWorker | None:
        """A ready worker with the fewest requests in flight, waiting up to the platform's
        limit while workers start; None when none became ready in time."""
        deadline = time.monotonic() + self.settings.no_worker_wait_s
        with self._lock:
            pool = self._pools.get(endpoint_id)
            if pool is None:
                return None
            pool.waiting += 1
        try:
            while True:
                with self._lock:
                    ready = [w for w in pool.live.values() if w.routable]
                    if ready:
                        worker = min(ready, key=lambda w: w.inflight)
                        worker.inflight += 1
                        return worker
                if time.monotonic() >= deadline or endpoint_id not in self._specs:
                    return None
                await asyncio.sleep(0.02)
        finally:
            with self._lock:
                pool.waiting -= 1

    def failed(self, worker: LbWorker, reason: str) -> None:
        """Out of routing now (not at the next health check): its process is gone or nothing
        listens on its port. The next tick replaces it."""
        with self._lock:
            if worker.health is not Health.UNHEALTHY:
                worker.health, worker.detail = Health.UNHEALTHY, reason

    def release(self, worker: LbWorker) -> None:
        with self._lock:
            worker.inflight -= 1
            worker.last_used = time.monotonic()

    # -- supervision ---------------------------------------------------------------------------

    def tick(self) -> None:
        """One round over all endpoints: health, failures, scaling, rolling."""
        with self._lock:
            targets = [(self._specs[e], self._pools[e]) for e in self._specs]
        for spec, pool in targets:
            try:
                self._check_health(pool)
                with self._lock:
                    if spec.endpoint_id in self._specs:
                        self._supervise(self._specs[spec.endpoint_id], pool)
            except Exception:  # one endpoint's failure leaves the others supervised
                log.exception("supervising the workers of endpoint %s failed", spec.endpoint_id)

    def _check_health(self, pool: Pool) -> None:
        now = time.monotonic()
        with self._lock:
            workers = [w for w in pool.live.values() if w.stopping_since is None]
        for worker in workers:
            if now - worker.probed_at < self.settings.health_interval_s:
                continue
            worker.probed_at = now
            health, detail = self._probe(worker)
            with self._lock:
                worker.health, worker.detail = health, detail
                worker.was_ready = worker.was_ready or health is Health.READY

    def _probe(self, worker: LbWorker) -> tuple[Health, str]:
        code = worker.process.poll()
        if code is not None:
            return Health.UNHEALTHY, f"exited with code {code}"
        try:
            status = self._health.get(worker.health_url).status_code
        except httpx.HTTPError as exc:
            if worker.was_ready:
                return Health.UNHEALTHY, f"health check failed: {type(exc).__name__}"
            return Health.INITIALIZING, "not listening yet"
        if status == 200:
            return Health.READY, "200"
        if status == 204:
            return Health.INITIALIZING, "204"
        return Health.UNHEALTHY, f"health path answered {status}"

    def _supervise(self, spec: EndpointSpec, pool: Pool) -> None:
        self._replace_unhealthy(pool)
        self._reap_stopping(pool)
        self._roll(spec, pool)
        active = [w for w in pool.live.values() if w.stopping_since is None]
        demand = pool.waiting + sum(w.inflight for w in active)
        per_worker = max(1, self._request_count(spec.endpoint_id))
        wanted = min(spec.workers_max, max(spec.workers_min, math.ceil(demand / per_worker)))
        if len(active) < wanted and time.monotonic() >= pool.next_spawn_at:
            for _ in range(wanted - len(active)):
                self._spawn(spec, pool)
        elif len(active) > wanted:
            self._retire_idle(spec, pool, active, len(active) - wanted)
        self._prune_ended(pool)

    def _replace_unhealthy(self, pool: Pool) -> None:
        for worker in list(pool.live.values()):
            if worker.health is not Health.UNHEALTHY or worker.stopping_since is not None:
                continue
            log.warning("worker %s is unhealthy (%s); replacing it", worker.id, worker.detail)
            worker.process.note(f"unhealthy: {worker.detail}")
            if not worker.was_ready:
                pool.failed_starts += 1
                delay = min(self.settings.max_backoff_s, 0.5 * 2**pool.failed_starts)
                pool.next_spawn_at = time.monotonic() + delay
            self._stop_worker(worker)
            self._end(pool, worker)
        if any(w.was_ready for w in pool.live.values()):
            pool.failed_starts = 0

    def _roll(self, spec: EndpointSpec, pool: Pool) -> None:
        """Workers of an older endpoint version, or of another worker command or directory,
        are replaced once they hold no request."""
        command = tuple(command_for(spec))
        for worker in list(pool.live.values()):
            process = worker.process
            moved = process.command != command or process.cwd != (
                spec.worker_cwd or self.worker_cwd
            )
            stale = (worker.version != spec.version or moved) and worker.inflight == 0
            if stale and worker.stopping_since is None:
                self._stop_worker(worker)

    def _retire_idle(
        self, spec: EndpointSpec, pool: Pool, active: list[LbWorker], excess: int
    ) -> None:
        now = time.monotonic()
        over_max = len(active) > spec.workers_max
        for worker in active:
            if excess <= 0:
                return
            idle = worker.inflight == 0 and now - worker.last_used >= spec.idle_timeout_s
            if worker.inflight == 0 and (over_max or idle):
                self._stop_worker(worker)
                excess -= 1

    def _stop_worker(self, worker: LbWorker) -> None:
        worker.stopping_since = time.monotonic()
        worker.process.stop()

    def _reap_stopping(self, pool: Pool) -> None:
        grace = self.settings.stop_grace_s
        for worker in list(pool.live.values()):
            if worker.stopping_since is None:
                continue
            if worker.process.poll() is not None:
                self._end(pool, worker, listed=worker.health is Health.UNHEALTHY)
            elif time.monotonic() - worker.stopping_since > grace:
                worker.process.kill()

    def _end(self, pool: Pool, worker: LbWorker, *, listed: bool = True) -> None:
        pool.live.pop(worker.id, None)
        worker.ended_at = time.monotonic()
        worker.health = Health.UNHEALTHY
        if listed:
            pool.ended[worker.id] = worker
        else:
            worker.process.reap()

    def _prune_ended(self, pool: Pool) -> None:
        now = time.monotonic()
        for worker in list(pool.ended.values()):
            since = worker.stopping_since
            if worker.process.poll() is None and since and now - since > self.settings.stop_grace_s:
                worker.process.kill()
            if now - (worker.ended_at or now) > self.settings.unhealthy_listed_s:
                del pool.ended[worker.id]
                worker.process.reap()

    def _spawn(self, spec: EndpointSpec, pool: Pool) -> None:
        worker_id = f"lb{next(self._ids):03d}-{spec.endpoint_id[-6:]}"
        base = self.state_dir / spec.endpoint_id
        shim = None
        if spec.gpu_count > 0:
            gpu = self._gpu_types(spec.endpoint_id)
            shim = write_shim(base / "gpu-shim", gpu, spec.gpu_count)
        ports = ports_for(spec)
        env = worker_env(spec, worker_id, ports, shim_dir=shim)
        command = command_for(spec)
        try:
            process = WorkerProcess(
                worker_id,
                command,
                env,
                spec.worker_cwd or self.worker_cwd,
                max_lines=self.settings.max_log_lines_per_worker,
            )
        except (OSError, ValueError) as exc:
            pool.last_error = f"could not start worker command {command[0]!r}: {exc}"
            log.warning("%s", pool.last_error)
            pool.failed_starts += 1
            pool.next_spawn_at = time.monotonic() + min(
                self.settings.max_backoff_s, 2.0**pool.failed_starts
            )
            return
        pool.live[worker_id] = LbWorker(
            worker_id, spec.version, process, ports[0], ports[1], health_path(spec),
            last_used=time.monotonic(),
        )  # fmt: skip

    def _end_pool(self, endpoint_id: str, pool: Pool) -> None:
        """A deleted endpoint (or one no longer load-balancing): end its workers now."""
        workers = [*pool.live.values(), *pool.ended.values()]
        for worker in workers:
            worker.process.stop()
        deadline = time.monotonic() + self.settings.stop_grace_s
        for worker in workers:
            worker.process.wait(max(0.0, deadline - time.monotonic()))
            worker.process.reap()
        shutil.rmtree(self.state_dir / endpoint_id, ignore_errors=True)

    # -- WorkerView ------------------------------------------------------------------------------

    def workers(self, endpoint_id: str) -> list[WorkerInfo]:
        """Live workers (IDLE, RUNNING, INITIALIZING), then recent failures as UNHEALTHY."""
        with self._lock:
            pool = self._pools.get(endpoint_id)
            spec = self._specs.get(endpoint_id)
            if pool is None or spec is None:
                return []
            infos = [_info(w, spec) for w in pool.live.values() if w.stopping_since is None]
            infos += [_info(w, spec) for w in pool.ended.values()]
            return infos

    def logs(self, endpoint_id: str, worker_id: str) -> list[LogLine] | None:
        with self._lock:
            pool = self._pools.get(endpoint_id)
            worker = None if pool is None else pool.live.get(worker_id) or pool.ended.get(worker_id)
        return None if worker is None else worker.process.lines()

    def worker(self, endpoint_id: str, worker_id: str) -> LbWorker | None:
        """One live worker (tests and fault injection)."""
        with self._lock:
            pool = self._pools.get(endpoint_id)
            return None if pool is None else pool.live.get(worker_id)


def _info(worker: LbWorker, spec: EndpointSpec) -> WorkerInfo:
    if worker.health is Health.READY:
        status = "RUNNING" if worker.inflight else "IDLE"
    else:
        status = worker.health.name
    started = worker.process.started_at
    return WorkerInfo(worker.id, status, worker.version, started, spec.image, spec.gpu_count)
