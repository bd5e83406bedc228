"""Plugs the serverless data plane (`podkit.emulator.dataplane`) into the control plane.

The data plane keeps its own seam types; this module translates: control-plane
`EndpointSpec` -> data-plane `EndpointRuntime`, and the data plane's workers and log lines ->
the `WorkerView` behind `/v2/serverless/{id}/workers` and `/logs`. When the data-plane package
is absent, `load_dataplane` returns None and the control plane runs alone.
"""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path
from typing import Any

from starlette.routing import BaseRoute

from podkit.emulator.runtime import EndpointSpec, LogLine, WorkerInfo, account_id


def _epoch(stamp: Any) -> float | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class DataPlaneBridge:
    """An `EndpointListener` and a `WorkerView` over a data-plane `DataPlane` object."""

    def __init__(self, plane: Any, runtime_cls: Any) -> None:
        self.plane = plane
        self._runtime_cls = runtime_cls
        self._versions: dict[str, int] = {}

    # -- EndpointListener --------------------------------------------------------------------
    def endpoint_upserted(self, spec: EndpointSpec) -> None:
        self._versions[spec.endpoint_id] = spec.version
        runtime = self._runtime_cls(
            endpoint_id=spec.endpoint_id,
            account=spec.account_id,
            workers_min=spec.workers_min,
            workers_max=spec.workers_max,
            idle_timeout_s=float(spec.idle_timeout_s),
            execution_timeout_ms=spec.execution_timeout_ms,
            env=dict(spec.env),
            volume_dir=spec.volume_dir,
            worker_command=list(spec.worker_command),
            gpu_count=spec.gpu_count,
        )
        self.plane.endpoint_changed(runtime)

    def endpoint_deleted(self, endpoint_id: str) -> None:
        self._versions.pop(endpoint_id, None)
        self.plane.endpoint_deleted(endpoint_id)

    # -- WorkerView --------------------------------------------------------------------------
    def workers(self, endpoint_id: str) -> list[WorkerInfo]:
        version = self._versions.get(endpoint_id)
        body = self.plane.workers_response(endpoint_id, endpoint_version=version)
        return [
            WorkerInfo(
                id=str(w["id"]),
                status=str(w["status"]),
                version=w.get("version"),
                started_at=_epoch(w.get("startedAt")),
                image=w.get("image"),
                gpu_count=int(w.get("gpuCount", 1)),
            )
            for w in body.get("workers", [])
        ]

    def logs(self, endpoint_id: str, worker_id: str) -> list[LogLine] | None:
        if worker_id not in {w.id for w in self.workers(endpoint_id)}:
            return None
        return [
            LogLine(seq=int(ln.seq), ts=_epoch(ln.ts) or 0.0, source="container", line=ln.line)
            for ln in self.plane.worker_logs(worker_id, 0)
        ]


class DataPlaneHandle:
    """The loaded data plane: its routes, and start/stop tied to the server's lifetime."""

    def __init__(self, plane: Any, bridge: DataPlaneBridge) -> None:
        self.plane = plane
        self.bridge = bridge

    def routes(self) -> list[BaseRoute]:
        return list(self.plane.routes())

    def start(self, origin: str) -> None:
        self.plane.start(origin)

    def close(self) -> None:
        self.plane.close()


def load_dataplane(state_dir: Path, *, seed: int | None = None) -> DataPlaneHandle | None:
    """Build the data plane if its package is installed, keyed by the control plane's accounts."""
    try:
        module = importlib.import_module("podkit.emulator.dataplane")
    except ImportError:
        return None
    plane = module.DataPlane(state_dir, seed=seed, resolve_account=account_id)
    return DataPlaneHandle(plane, DataPlaneBridge(plane, module.EndpointRuntime))
