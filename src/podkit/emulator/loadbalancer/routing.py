"""Which endpoint a request is for: the path form `/lb/{id}/...` on the emulator's origin, the
host form `{id}.lb.localhost`, and queue paths (`/v2/{id}/...`) that may reach an LB endpoint."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import Scope

PATH_PREFIX = "/lb/"
HOST_SUFFIX = ".lb.localhost"


@dataclass(frozen=True)
class LbTarget:
    """A request for one endpoint's workers: the endpoint and the path the worker sees."""

    endpoint_id: str
    path: str  # with the leading slash, without the query


def lb_target(scope: Scope) -> LbTarget | None:
    """The load-balancer target of a request, or None when it is for the rest of the app."""
    host = _host(scope)
    path: str = scope["path"]
    if host.endswith(HOST_SUFFIX) and host != HOST_SUFFIX[1:]:
        return LbTarget(host[: -len(HOST_SUFFIX)], path or "/")
    if not path.startswith(PATH_PREFIX):
        return None
    endpoint_id, slash, rest = path[len(PATH_PREFIX) :].partition("/")
    if not endpoint_id:
        return None
    return LbTarget(endpoint_id, slash + rest if slash else "/")


def queue_target(scope: Scope) -> str | None:
    """The endpoint id of a queue data-plane path (`/v2/{id}/run`, ...), else None."""
    path: str = scope["path"]
    parts = path.split("/")
    if len(parts) >= 4 and parts[0] == "" and parts[1] == "v2" and parts[2]:
        return parts[2]
    return None


def _host(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            host: str = value.decode("latin-1")
            return host.rsplit(":", 1)[0].lower()
    return ""


def host_url(endpoint_id: str, origin: str) -> str:
    """The host form of an endpoint's base URL on the emulator's port."""
    scheme, _, rest = origin.partition("://")
    port = rest.rsplit(":", 1)[1] if ":" in rest else ""
    return f"{scheme}://{endpoint_id}{HOST_SUFFIX}{':' + port if port else ''}"
