"""Runs each endpoint's workers as local processes and keeps them to the endpoint's scaling.

One background thread ticks: it applies the backend's deadlines, reaps exited workers (their
jobs are queued again or failed by the backend), keeps `workersMin` warm, adds workers up to
`workersMax` under queue pressure, stops idle ones after the idle timeout, and terminates
workers that keep running a stopped job. Every process is ended on `close()` and at exit.
"""

from __future__ import annotations

import atexit
import logging
import math
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from podkit.emulator.dataplane.backend import JobsBackend
from podkit.emulator.dataplane.core import UnsavedError
from podkit.emulator.dataplane.gpu_shim import write_shim
from podkit.emulator.dataplane.process import WorkerProcess
from podkit.emulator.dataplane.runtime import EndpointRuntime
from podkit.emulator.dataplane.state import WorkerState
from podkit.emulator.dataplane.worker_env import DEFAULT_COMMAND, worker_env

MAX_SPAWN_BACKOFF_S = 30.0
# Workers that died before they were ever ready stay listed (UNHEALTHY) this long, the way
# the platform shows a crash-looping container instead of an empty worker list.
UNHEALTHY_LISTED_S = 60.0
MAX_UNHEALTHY_LISTED = 3
log = logging.getLogger("podkit.emulator.dataplane")


@dataclass
class _Pool:
    """The processes of one endpoint and its restart backoff."""

    live: dict[str, WorkerProcess] = field(default_factory=dict)
    exited: dict[str, WorkerProcess] = field(default_factory=dict)
    retiring: dict[str, float] = field(default_factory=dict)
    # Failed starts still listed as UNHEALTHY: worker id -> when it exited (monotonic).
    unhealthy: dict[str, float] = field(default_factory=dict)
    last_error: str | None = None
    failed_starts: int = 0
    next_spawn_at: float = 0.0


class Supervisor:
    """Worker processes for every endpoint the backend knows."""

    def __init__(
        self,
        backend: JobsBackend,
        state_dir: Path,
        *,
        gpu_shim: bool = True,
        worker_cwd: Path | None = None,
    ) -> None:
        self.backend = backend
        self.settings = backend.settings
        self.state_dir = state_dir
        # Workers run here, so `python handler.py` finds the handler where the user is.
        self.worker_cwd = worker_cwd or Path.cwd()
        self.gpu_shim = gpu_shim
        self._origin: str | None = None
        self._pools: dict[str, _Pool] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._closing = False
        self._draining: list[tuple[WorkerProcess, float]] = []
        self._thread: threading.Thread | None = None
        atexit.register(self.close)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, origin: str) -> None:
        """Start supervising; workers reach the emulator at `origin` (e.g. http://127.0.0.1:N)."""
        self._origin = origin
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name="podkit-supervisor", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """End every worker process, then stop supervising (idempotent).

        Workers get SIGTERM first (the SDK drains), SIGKILL 3 s later. The supervising thread
        stays alive until they are gone: the kernel kills a worker whose spawning thread ends.
        """
        with self._lock:
            self._closing = True
            processes = [p for pool in self._pools.values() for p in pool.live.values()]
            processes += [process for process, _ in self._draining]
            for process in processes:
                process.stop()
            deadline = time.monotonic() + 3
            for process in processes:
                process.wait(max(0.0, deadline - time.monotonic()))
            for pool in self._pools.values():
                for process in [*pool.live.values(), *pool.exited.values()]:
                    process.reap()
            for process, _ in self._draining:
                process.reap()
            self._pools.clear()
            self._draining.clear()
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.supervise_interval_s):
            try:
                self.tick()
            except UnsavedError as exc:  # a full disk: said in words, tried again next tick
                log.warning("%s", exc.message)
            except Exception:  # a bad tick must not end supervision of every endpoint
                log.exception("worker supervision tick failed")

    def tick(self) -> None:
        """One supervision round over all endpoints."""
        self.backend.tick()
        with self._lock:
            if self._closing:
                return
            self._reap_draining()
            known = set(self.backend.endpoint_ids())
            for endpoint_id in list(self._pools):
                if endpoint_id not in known:
                    self._drop_pool(endpoint_id)
            for endpoint_id in known:
                runtime = self.backend.runtime(endpoint_id)
                if runtime is None:
                    continue
                try:
                    self._supervise(runtime, self._pools.setdefault(endpoint_id, _Pool()))
                except Exception:  # one endpoint's failure leaves the others supervised
                    log.exception("supervising the workers of endpoint %s failed", endpoint_id)

    # -- one endpoint ----------------------------------------------------------------------

    def _supervise(self, runtime: EndpointRuntime, pool: _Pool) -> None:
        self._reap(pool)
        self._prune_unhealthy(pool)
        self._enforce_stops(pool)
        self._roll(runtime, pool)
        queued, in_progress = self.backend.queue_pressure(runtime.endpoint_id)
        wanted = min(runtime.workers_max, max(runtime.workers_min, queued + in_progress))
        active = [wid for wid in pool.live if wid not in pool.retiring]
        if len(active) < wanted and time.monotonic() >= pool.next_spawn_at:
            for _ in range(wanted - len(active)):
                self._spawn(runtime, pool)
        elif len(active) > wanted:
            self._retire_idle(runtime, pool, len(active) - wanted)

    def _reap(self, pool: _Pool) -> None:
        for worker_id, process in list(pool.live.items()):
            code = process.poll()
            if code is None:
                continue
            record = self.backend.worker(worker_id)
            never_ready = record is not None and record.state is WorkerState.INITIALIZING
            process.kill()  # what the worker left in its group, in case its init is gone too
            self.backend.worker_exited(worker_id, code)
            del pool.live[worker_id]
            planned = pool.retiring.pop(worker_id, None) is not None
            pool.exited[worker_id] = process
            process.drain(1.0)  # its last lines, before they are quoted
            process.note(f"remove container (exit code {code})")
            if never_ready and not planned:
                pool.unhealthy[worker_id] = time.monotonic()
                self.backend.set_unhealthy(worker_id, True)
                pool.failed_starts += 1
                delay = min(MAX_SPAWN_BACKOFF_S, 0.5 * 2**pool.failed_starts)
                pool.next_spawn_at = time.monotonic() + delay
                _warn_exit(
                    worker_id, process, code, f"before taking a job; next start in {delay:.1f} s"
                )
            elif not planned:
                _warn_exit(worker_id, process, code, "unexpectedly; a new worker replaces it")
        while len(pool.exited) > self.settings.max_exited_workers_listed:
            worker_id, process = next(iter(pool.exited.items()))
            del pool.exited[worker_id]
            pool.unhealthy.pop(worker_id, None)
            process.reap()
            self.backend.forget_worker(worker_id)

    def _prune_unhealthy(self, pool: _Pool) -> None:
        """Keep the last few failed starts listed, each for `UNHEALTHY_LISTED_S`."""
        now = time.monotonic()
        recent = [w for w, at in pool.unhealthy.items() if now - at <= UNHEALTHY_LISTED_S]
        keep = set(recent[-MAX_UNHEALTHY_LISTED:])
        self._unlist_unhealthy(pool, [w for w in pool.unhealthy if w not in keep])

    def _unlist_unhealthy(self, pool: _Pool, worker_ids: list[str]) -> None:
        for worker_id in worker_ids:
            del pool.unhealthy[worker_id]
            self.backend.set_unhealthy(worker_id, False)

    def _enforce_stops(self, pool: _Pool) -> None:
        """Stopped jobs a worker keeps running (sync handlers) end the worker; refresh too."""
        now = self.backend.now()
        grace = self.settings.stop_grace_s
        for worker_id, process in pool.live.items():
            record = self.backend.worker(worker_id)
            if record is None:
                continue
            overdue = any(now - t > grace for t in record.stopping.values())
            if overdue or time.monotonic() - pool.retiring.get(worker_id, math.inf) > grace:
                process.kill()
            elif record.refresh_requested and not record.jobs and worker_id not in pool.retiring:
                self._retire(pool, worker_id)
            if record.state is not WorkerState.INITIALIZING:
                pool.failed_starts = 0
                self._unlist_unhealthy(pool, list(pool.unhealthy))

    def _roll(self, runtime: EndpointRuntime, pool: _Pool) -> None:
        """A new endpoint version (or worker command or directory) replaces older workers once
        idle."""
        command = tuple(runtime.worker_command or DEFAULT_COMMAND)
        cwd = self._cwd_of(runtime)
        for worker_id, process in list(pool.live.items()):
            record = self.backend.worker(worker_id)
            if record is None or record.jobs or worker_id in pool.retiring:
                continue
            moved = process.command != command or process.cwd != cwd
            if record.version != runtime.version or moved:
                self._retire(pool, worker_id)

    def _retire_idle(self, runtime: EndpointRuntime, pool: _Pool, excess: int) -> None:
        now = self.backend.now()
        for worker_id in list(pool.live):
            if excess <= 0:
                return
            record = self.backend.worker(worker_id)
            if record is None or worker_id in pool.retiring or record.state != WorkerState.IDLE:
                continue
            over_max = len(pool.live) - len(pool.retiring) > runtime.workers_max
            idle_for = 0.0 if record.idle_since is None else now - record.idle_since
            if over_max or idle_for >= runtime.idle_timeout_s:
                self._retire(pool, worker_id)
                excess -= 1

    def _retire(self, pool: _Pool, worker_id: str) -> None:
        self.backend.retire_worker(worker_id)
        pool.retiring[worker_id] = time.monotonic()
        pool.live[worker_id].stop()

    def _spawn(self, runtime: EndpointRuntime, pool: _Pool) -> None:
        if self._origin is None:
            return
        token = secrets.token_urlsafe(24)
        record = self.backend.register_worker(runtime.endpoint_id, token)
        base = self.state_dir / "endpoints" / runtime.endpoint_id
        shim = None
        if self.gpu_shim and runtime.gpu_count > 0:
            shim = write_shim(base / "gpu-shim", runtime.gpu_type, runtime.gpu_count)
        env = worker_env(
            runtime,
            origin=self._origin,
            worker_id=record.id,
            token=token,
            ping_interval_ms=self.settings.ping_interval_ms,
            shim_dir=shim,
            home=_isolated_home(base),
            workdir=self._cwd_of(runtime),
        )
        command = list(runtime.worker_command or DEFAULT_COMMAND)
        try:
            process = WorkerProcess(
                record.id,
                command,
                env,
                self._cwd_of(runtime),
                max_lines=self.settings.max_log_lines_per_worker,
            )
        except (OSError, ValueError) as exc:
            self.backend.worker_exited(record.id, None)
            pool.last_error = f"could not start worker command {command[0]!r}: {exc}"
            log.warning("%s (in %s)", pool.last_error, self._cwd_of(runtime))
            pool.failed_starts += 1
            pool.next_spawn_at = time.monotonic() + min(
                MAX_SPAWN_BACKOFF_S, 2.0**pool.failed_starts
            )
            return
        pool.live[record.id] = process

    def _cwd_of(self, runtime: EndpointRuntime) -> Path:
        """The endpoint's own worker directory, else the local RunPod's."""
        return runtime.worker_cwd or self.worker_cwd

    def _drop_pool(self, endpoint_id: str) -> None:
        """A deleted endpoint: SIGTERM its workers now, reap them on later ticks."""
        pool = self._pools.pop(endpoint_id)
        for worker_id, process in pool.live.items():
            process.stop()
            self._draining.append((process, time.monotonic()))
            self.backend.forget_worker(worker_id)
        for worker_id, process in pool.exited.items():
            process.reap()
            self.backend.forget_worker(worker_id)
        shutil.rmtree(self.state_dir / "endpoints" / endpoint_id, ignore_errors=True)

    def _reap_draining(self) -> None:
        grace = self.settings.stop_grace_s
        still: list[tuple[WorkerProcess, float]] = []
        for process, since in self._draining:
            if process.poll() is None and time.monotonic() - since <= grace:
                still.append((process, since))
            else:
                process.reap()  # exited, or past the grace: SIGKILL
        self._draining = still

    # -- inspection and faults ---------------------------------------------------------------

    def process(self, worker_id: str) -> WorkerProcess | None:
        """The process of a live or recently exited worker."""
        with self._lock:
            for pool in self._pools.values():
                found = pool.live.get(worker_id) or pool.exited.get(worker_id)
                if found is not None:
                    return found
        return None

    def live_worker_ids(self, endpoint_id: str) -> list[str]:
        """Ids of the endpoint's running worker processes."""
        with self._lock:
            pool = self._pools.get(endpoint_id)
            return list(pool.live) if pool else []

    def unhealthy_worker_ids(self, endpoint_id: str) -> list[str]:
        """Recent workers of the endpoint that exited before they were ever ready."""
        with self._lock:
            pool = self._pools.get(endpoint_id)
            if pool is None:
                return []
            return list(pool.unhealthy)  # kept to the limits on every tick

    def kill_worker(self, worker_id: str) -> bool:
        """Fault injection: SIGKILL a worker (it is replaced; its job is requeued or failed)."""
        process = self.process(worker_id)
        if process is None or process.poll() is not None:
            return False
        process.kill()
        return True

    def kill_worker_running(self, endpoint_id: str, job_id: str) -> str | None:
        """Fault injection: SIGKILL the worker running this job; its id, or None."""
        worker_id = self.backend.get(endpoint_id, job_id).worker_id
        if worker_id is not None and self.kill_worker(worker_id):
            return worker_id
        return None


def _warn_exit(worker_id: str, process: WorkerProcess, code: int, what: str) -> None:
    """Say that a worker ended, with its exit code and its last output lines."""
    lines = process.last_output()
    last = "\n  ".join(lines) if lines else "(no output)"
    log.warning(
        "worker %s (%s) exited with code %s %s (check the endpoint's worker command, its "
        "working directory and its imports); last output:\n  %s",
        worker_id,
        " ".join(process.command),
        code,
        what,
        last,
    )


def _isolated_home(base: Path) -> Path | None:
    """A private HOME when the host's `~/.runpod/config.toml` would override the worker key."""
    if not (Path.home() / ".runpod" / "config.toml").exists():
        return None
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    return home
