"""Plugs the data plane into the emulator's app: the control plane's backend announces
endpoints (`EndpointSpec`), the data plane runs them and serves the worker view."""

from __future__ import annotations

from starlette.routing import BaseRoute

from podkit.emulator.backend import Backend
from podkit.emulator.dataplane.admin import admin_routes
from podkit.emulator.dataplane.plane import DataPlane
from podkit.emulator.dataplane.runtime import EndpointRuntime
from podkit.emulator.dataplane.settings import DataPlaneSettings
from podkit.emulator.http.context import Context
from podkit.emulator.runtime import EndpointSpec


class ControlPlaneBridge:
    """The control plane's `EndpointListener`, translating specs for the data plane."""

    def __init__(self, plane: DataPlane, backend: Backend) -> None:
        self.plane = plane
        self.backend = backend

    def endpoint_upserted(self, spec: EndpointSpec) -> None:
        """Run a queue endpoint's workers; load-balancing endpoints get none here."""
        if spec.endpoint_type != "QUEUE":
            self.plane.endpoint_deleted(spec.endpoint_id)
            return
        self.plane.endpoint_changed(self.runtime(spec))

    def endpoint_deleted(self, endpoint_id: str) -> None:
        """Stop the endpoint's workers and drop its jobs."""
        self.plane.endpoint_deleted(endpoint_id)

    def runtime(self, spec: EndpointSpec) -> EndpointRuntime:
        """The data plane's view of an endpoint spec (GPU from the record's first pool)."""
        found = self.backend.find_endpoint(spec.endpoint_id)
        gpu = (found[1].get("gpu") if found else None) or {}
        pools = gpu.get("pools") or [None]
        return EndpointRuntime(
            endpoint_id=spec.endpoint_id,
            account=spec.account_id,
            workers_min=spec.workers_min,
            workers_max=spec.workers_max,
            idle_timeout_s=spec.idle_timeout_s,
            execution_timeout_ms=spec.execution_timeout_ms,
            env=dict(spec.env),
            volume_dir=spec.volume_dir,
            worker_command=spec.worker_command,
            worker_cwd=spec.worker_cwd,
            gpu_type=pools[0],
            gpu_count=spec.gpu_count if gpu else 0,
            version=spec.version,
        )


def routes(backend: Backend, context: Context) -> list[BaseRoute]:
    """The data plane for the emulator's app over `backend`; workers start with `start(url)`.

    The plane is left on `context.dataplane` for the server to start and close.
    """
    settings = context.dataplane_settings
    if settings is not None and not isinstance(settings, DataPlaneSettings):
        raise TypeError(f"dataplane_settings must be a DataPlaneSettings, not {type(settings)}")
    plane = DataPlane(
        backend.state_dir / "dataplane",
        settings=settings,
        resolve_account=backend.keys.account_of,  # configured keys share one account
    )
    if context.worker_cwd is not None:
        plane.supervisor.worker_cwd = context.worker_cwd
    backend.set_listener(ControlPlaneBridge(plane, backend))  # announces existing endpoints
    plane.restore()
    context.worker_view = plane
    context.dataplane = plane
    return [*plane.routes(), *admin_routes(plane)]
