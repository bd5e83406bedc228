"""The data plane as one object: jobs backend, HTTP routes, worker supervisor.

Endpoint changes flow in through `endpoint_changed` / `endpoint_deleted` (from the control
plane via `wiring.ControlPlaneBridge`); it is the control plane's `WorkerView`; the composed
app mounts `routes()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from starlette.routing import Route

from podkit.emulator.dataplane.auth import AccountResolver, account_for_key
from podkit.emulator.dataplane.backend import JobsBackend
from podkit.emulator.dataplane.core import UnsavedError
from podkit.emulator.dataplane.routes import routes
from podkit.emulator.dataplane.runtime import EndpointRuntime
from podkit.emulator.dataplane.settings import DataPlaneSettings
from podkit.emulator.dataplane.state import WorkerState
from podkit.emulator.dataplane.store import JobStore
from podkit.emulator.dataplane.supervisor import Supervisor
from podkit.emulator.dataplane.waiters import Waiters
from podkit.emulator.dataplane.webhooks import WebhookSender
from podkit.emulator.dataplane.worker_routes import worker_routes
from podkit.emulator.runtime import LogLine, WorkerInfo

JOBS_DB = "jobs.sqlite3"


class DataPlane:
    """Serverless queue endpoints with real SDK workers, on the emulator's origin."""

    def __init__(
        self,
        state_dir: Path,
        *,
        settings: DataPlaneSettings | None = None,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        gpu_shim: bool = True,
        resolve_account: AccountResolver = account_for_key,
    ) -> None:
        settings = settings or DataPlaneSettings()
        self.webhooks = WebhookSender(retry_s=settings.webhook_retry_s)
        self.store = JobStore(state_dir / JOBS_DB)
        self.backend = JobsBackend(
            settings, clock=clock, seed=seed, on_webhook=self.webhooks.send, store=self.store
        )
        self.waiters = Waiters()
        self.backend.add_listener(self.waiters.wake)
        self.supervisor = Supervisor(self.backend, state_dir, gpu_shim=gpu_shim)
        self.legacy_jobs_file = state_dir / "jobs.json"
        self._closed = False
        self._resolve_account = resolve_account

    def routes(self) -> list[Route]:
        """Client data-plane routes and worker-protocol routes."""
        return [
            *routes(self.backend, self.waiters, resolve_account=self._resolve_account),
            *worker_routes(self.backend, self.waiters),
        ]

    def start(self, origin: str) -> None:
        """Start workers once the server listens on `origin`."""
        self.supervisor.start(origin)

    def close(self) -> None:
        """End every worker process, stop webhook deliveries, close the job database (once).

        Jobs are already on disk: every change was committed when it happened.
        """
        if self._closed:
            return
        self._closed = True
        self.supervisor.close()
        self.webhooks.close()
        self.store.close()

    def restore(self) -> int:
        """Adopt the stored jobs (and once, an old `jobs.json`) of the endpoints known now."""
        try:
            return self.backend.restore() + self.backend.import_legacy(self.legacy_jobs_file)
        except UnsavedError as exc:  # at start, before anyone asked: the store's own words
            raise exc.cause from exc

    # -- endpoint changes ------------------------------------------------------------------

    def endpoint_changed(self, runtime: EndpointRuntime) -> None:
        """An endpoint was created or updated."""
        self.backend.upsert_endpoint(runtime)

    def endpoint_deleted(self, endpoint_id: str) -> None:
        """An endpoint was deleted: its jobs go, its workers are stopped."""
        self.backend.delete_endpoint(endpoint_id)

    # -- WorkerView: what the control plane shows -------------------------------------------

    def workers(self, endpoint_id: str) -> list[WorkerInfo]:
        """The endpoint's live workers, then recent failed starts as UNHEALTHY, for
        `/v2/serverless/{id}/workers`."""
        runtime = self.backend.runtime(endpoint_id)
        gpu_count = runtime.gpu_count if runtime else 1
        infos = []
        for worker_id in self.supervisor.live_worker_ids(endpoint_id):
            record = self.backend.worker(worker_id)
            process = self.supervisor.process(worker_id)
            if record is None or process is None or record.state is WorkerState.EXITED:
                continue
            status = str(record.state).upper()
            infos.append(
                WorkerInfo(worker_id, status, record.version, process.started_at, None, gpu_count)
            )
        for worker_id in self.supervisor.unhealthy_worker_ids(endpoint_id):
            record = self.backend.worker(worker_id)
            process = self.supervisor.process(worker_id)
            if record is not None and process is not None:
                infos.append(
                    WorkerInfo(
                        worker_id, "UNHEALTHY", record.version, process.started_at, None, gpu_count
                    )
                )
        return infos

    def logs(self, endpoint_id: str, worker_id: str) -> list[LogLine] | None:
        """Every retained line a worker printed (stdout and stderr); None if unknown."""
        record = self.backend.worker(worker_id)
        process = self.supervisor.process(worker_id)
        if record is None or record.endpoint_id != endpoint_id or process is None:
            return None
        return process.lines()

    # -- fault injection ---------------------------------------------------------------------

    def kill_worker(self, worker_id: str) -> bool:
        """SIGKILL one worker; the supervisor replaces it."""
        return self.supervisor.kill_worker(worker_id)

    def kill_worker_running(self, endpoint_id: str, job_id: str) -> str | None:
        """SIGKILL the worker running this job; its id, or None when no worker holds it."""
        return self.supervisor.kill_worker_running(endpoint_id, job_id)
