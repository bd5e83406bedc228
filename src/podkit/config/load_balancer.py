"""What the platform needs of a load-balancing worker's ports, checked before any call.

The worker serves HTTP on `PORT` (default 80) and answers its health path on `PORT_HEALTH`
(default: `PORT`); both must be exposed as `<port>/http` in the endpoint's ports, at most 10
of them. `worker.port`, `worker.health_port` and `worker.health_path` set these variables;
without `worker.ports` podkit exposes exactly the ports they name.
"""

from __future__ import annotations

from podkit.config.schema import Deployment

DEFAULT_PORT = 80
DEFAULT_HEALTH_PATH = "/ping"
MAX_HTTP_PORTS = 10

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str, str]  # (key path, what is wrong, the fix)


def server_ports(deployment: Deployment) -> tuple[int, int]:
    """(PORT, PORT_HEALTH) as the worker will see them."""
    worker = deployment.worker
    port = worker.port or _int(worker.env.get("PORT")) or DEFAULT_PORT
    health = worker.health_port or _int(worker.env.get("PORT_HEALTH")) or port
    return port, health


def lb_env(deployment: Deployment) -> dict[str, str]:
    """The platform variables the config's keys set (none on a queue endpoint)."""
    worker = deployment.worker
    if deployment.endpoint.type != "load_balancer":
        return {}
    env: dict[str, str] = {}
    if worker.port is not None:
        env["PORT"] = str(worker.port)
    if worker.health_port is not None:
        env["PORT_HEALTH"] = str(worker.health_port)
    if worker.health_path is not None:
        env["HEALTH_CHECK_PATH"] = worker.health_path
    return env


def exposed_ports(deployment: Deployment) -> list[str]:
    """`worker.ports`, or on a load-balancing endpoint the ports its server uses."""
    if deployment.worker.ports or deployment.endpoint.type != "load_balancer":
        return list(deployment.worker.ports)
    port, health = server_ports(deployment)
    return list(dict.fromkeys([f"{port}/http", f"{health}/http"]))


def problems(deployment: Deployment) -> list[Problem]:
    """Ports the platform would not route to, keys that mean nothing on a queue endpoint, and
    smoke tests of the other kind of endpoint."""
    return _smoke_kinds(deployment) + _ports(deployment)


def _smoke_kinds(deployment: Deployment) -> list[Problem]:
    http = deployment.endpoint.type == "load_balancer"
    found: list[Problem] = []
    for index, test in enumerate(deployment.smoke):
        if http and not test.is_http:
            found.append(
                (("smoke", index, "input"), "a load_balancer endpoint takes HTTP requests, "
                 "not jobs", 'give path (and method, body) instead, e.g. path = "/ping"')
            )  # fmt: skip
        elif not http and test.is_http:
            found.append(
                (("smoke", index, "path"), "a queue endpoint takes jobs, not HTTP requests",
                 'give input instead, e.g. input = { action = "gpu_info" }')
            )  # fmt: skip
    return found


def _ports(deployment: Deployment) -> list[Problem]:
    worker = deployment.worker
    if deployment.endpoint.type != "load_balancer":
        keys = [k for k in ("port", "health_port", "health_path") if getattr(worker, k)]
        return [
            (("worker", k), "only a load_balancer endpoint serves HTTP on a port",
             'delete it, or set endpoint.type = "load_balancer"')
            for k in keys
        ]  # fmt: skip
    found: list[Problem] = []
    http = [p for p in worker.ports if p.endswith("/http")]
    if len(http) > MAX_HTTP_PORTS:
        found.append(
            (("worker", "ports"), f"{len(http)} HTTP ports; the platform allows at most "
             f"{MAX_HTTP_PORTS}", "expose only the ports the server uses")
        )  # fmt: skip
    if not worker.ports:
        return found
    port, health = server_ports(deployment)
    wanted = {port: "port", health: "health_port"}  # one problem when both are one port
    for value, key in wanted.items():
        if f"{value}/http" not in worker.ports:
            found.append(
                (("worker", "ports"), f"does not expose worker.{key} {value}, so the load "
                 "balancer cannot reach the worker", f'add "{value}/http" to worker.ports')
            )  # fmt: skip
    return found


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None
