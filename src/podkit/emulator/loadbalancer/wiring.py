"""Plugs the load balancer into the emulator's app: it listens to endpoint changes beside the
data plane, shows its workers through the same worker view and starts and stops with it."""

from __future__ import annotations

from podkit.emulator.backend import Backend
from podkit.emulator.http.context import Context, Startable
from podkit.emulator.loadbalancer.balancer import LoadBalancer
from podkit.emulator.loadbalancer.settings import LoadBalancerSettings
from podkit.emulator.runtime import EndpointListener, EndpointSpec, LogLine, WorkerInfo, WorkerView


class _Listeners:
    """Tells every listener about each change, in order."""

    def __init__(self, *listeners: EndpointListener) -> None:
        self.listeners = listeners

    def endpoint_upserted(self, spec: EndpointSpec) -> None:
        for listener in self.listeners:
            listener.endpoint_upserted(spec)

    def endpoint_deleted(self, endpoint_id: str) -> None:
        for listener in self.listeners:
            listener.endpoint_deleted(endpoint_id)


class _Views:
    """Load-balancing endpoints' workers from the balancer, the rest from the data plane."""

    def __init__(self, balancer: LoadBalancer, other: WorkerView) -> None:
        self.balancer, self.other = balancer, other

    def workers(self, endpoint_id: str) -> list[WorkerInfo]:
        if self.balancer.endpoint_type(endpoint_id):
            return self.balancer.workers(endpoint_id)
        return self.other.workers(endpoint_id)

    def logs(self, endpoint_id: str, worker_id: str) -> list[LogLine] | None:
        if self.balancer.endpoint_type(endpoint_id):
            return self.balancer.logs(endpoint_id, worker_id)
        return self.other.logs(endpoint_id, worker_id)


class _Both:
    """Starts and closes the data plane (if any) and the balancer together."""

    def __init__(self, balancer: LoadBalancer, other: Startable | None) -> None:
        self.balancer, self.other = balancer, other

    def start(self, origin: str) -> None:
        if self.other is not None:
            self.other.start(origin)
        self.balancer.start(origin)

    def close(self) -> None:
        self.balancer.close()
        if self.other is not None:
            self.other.close()


def wire(backend: Backend, context: Context) -> LoadBalancer:
    """A load balancer over `backend`, plugged into `context` after the data plane."""
    settings = context.loadbalancer_settings
    if settings is not None and not isinstance(settings, LoadBalancerSettings):
        raise TypeError(f"loadbalancer_settings must be LoadBalancerSettings, not {type(settings)}")
    balancer = LoadBalancer(
        backend.state_dir / "loadbalancer",
        settings=settings,
        request_count=lambda eid: _scaling_value(backend, eid),
        gpu_types=lambda eid: _first_pool(backend, eid),
        worker_cwd=context.worker_cwd,
    )
    backend.set_listener(_Listeners(backend.listener, balancer))  # after the data plane's
    context.worker_view = _Views(balancer, context.worker_view)
    context.dataplane = _Both(balancer, context.dataplane)
    return balancer


def _scaling_value(backend: Backend, endpoint_id: str) -> int:
    found = backend.find_endpoint(endpoint_id)
    scaling = found[1].get("scaling") if found else None
    return int((scaling or {}).get("value") or 1)


def _first_pool(backend: Backend, endpoint_id: str) -> str | None:
    found = backend.find_endpoint(endpoint_id)
    gpu = (found[1].get("gpu") if found else None) or {}
    pools = gpu.get("pools") or [None]
    return pools[0] if isinstance(pools[0], str) else None
