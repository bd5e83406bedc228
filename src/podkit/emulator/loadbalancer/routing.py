"""Which endpoint a request is for: the path form `/lb/{id}/...` on the emulator's origin, the
host form `{id}.lb.localhost`, and queue paths (`/v2/{id}/...`) that may reach an LB endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

from starlette.types import Scope

PATH_PREFIX = "/lb/"
HOST_SUFFIX = ".lb.localhost"
# Bytes a request line may carry but a URL may not hold as they are: percent-encoded on the
# way to the worker (what the client encoded stays encoded: `%2F`, `%3F`, `%00` reach it as is).
_UNSAFE = frozenset(range(0x21)) | frozenset(range(0x7F, 0x100)) | {ord("#")}


@dataclass(frozen=True)
class LbTarget:
    """A request for one endpoint's workers: the endpoint and the path the worker sees."""

    endpoint_id: str
    path: str  # as the client sent it (percent-encoded), with the leading slash, no query


def lb_target(scope: Scope) -> LbTarget | None:
    """The load-balancer target of a request, or None when it is for the rest of the app."""
    host = _host(scope)
    path: str = scope["path"]
    raw = _raw_path(scope)
    if host.endswith(HOST_SUFFIX) and host != HOST_SUFFIX[1:]:
        return LbTarget(host[: -len(HOST_SUFFIX)], raw or "/")
    if not path.startswith(PATH_PREFIX) or not raw.startswith(PATH_PREFIX):
        return None
    endpoint_id, slash, rest = raw[len(PATH_PREFIX) :].partition("/")
    if not endpoint_id:
        return None
    return LbTarget(unquote(endpoint_id), slash + rest if slash else "/")


def raw_query(scope: Scope) -> str:
    """The query string as sent, safe to put in a URL."""
    return _safe(scope.get("query_string", b""))


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        return _safe(raw.split(b"?", 1)[0])
    return quote(str(scope["path"]), safe="/:@!$&'()*+,;=~")


def _safe(raw: bytes) -> str:
    return "".join(f"%{b:02X}" if b in _UNSAFE else chr(b) for b in raw)


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
