"""Auth before routing, as on the platform: on every API path (v2, v1, data plane) a missing
or unknown key gets 401 in that generation's error shape before any 404, 405 or 501, and a
key whose scope does not reach gets 403 (`backend.keys` holds the keys and their scopes)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from podkit.emulator.backend import Backend
from podkit.emulator.backend.keys import KeyScope, Level
from podkit.emulator.http.common import Generation, api_key
from podkit.emulator.http.v1 import V1Generation
from podkit.emulator.http.v2 import V2Generation
from podkit.emulator.openapi import V1, V2, load

# `security: []` in the documents (and the v2 document, served beside them).
PUBLIC = frozenset({"/v2/openapi.json", "/v1/openapi.json", "/v1/docs"})
# First segments under /v2 that belong to the control plane; any other is an endpoint id.
CONTROL_V2 = frozenset(
    {"serverless", "templates", "network-volumes", "registries", "catalog", "billing", "pods"}
    | {"clusters", "account", "openapi.json"}
)
DATAPLANE_WRITES = frozenset({"run", "runsync", "cancel", "retry", "purge-queue"})
READS = frozenset({"GET", "HEAD", "OPTIONS"})
MISSING_DATA_KEY = "missing API key: send the header 'Authorization: Bearer <key>'"


@dataclass(frozen=True)
class Target:
    """What a request reaches: a control plane ("v1", "v2") or one endpoint's data plane."""

    area: str  # "v1" | "v2" | "data"
    writes: bool
    endpoint_id: str | None = None


def target_of(method: str, path: str) -> Target | None:
    """The API area a path belongs to; None for paths outside the APIs (admin, workers)."""
    if path in PUBLIC:
        return None
    parts = path.split("/")
    if len(parts) < 2 or parts[0] or parts[1] not in ("v1", "v2"):
        return None
    if parts[1] == "v1" or len(parts) < 3 or parts[2] in CONTROL_V2 or not parts[2]:
        return Target(parts[1], method not in READS)
    op = parts[3] if len(parts) > 3 else ""
    writes = op in DATAPLANE_WRITES or (op not in ("status", "stream") and method not in READS)
    return Target("data", writes, parts[2])


class AuthMiddleware:
    """401 for a missing or unknown key, 403 beyond the key's scope; then the app routes."""

    def __init__(self, app: ASGIApp, backend: Backend) -> None:
        self.app = app
        self.backend = backend
        self.generations: dict[str, Generation] = {
            "v1": V1Generation(load(V1), backend),
            "v2": V2Generation(load(V2), backend),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = target_of(scope["method"], scope["path"]) if scope["type"] == "http" else None
        refused = None if target is None else self.check(Request(scope), target)
        if refused is None:
            await self.app(scope, receive, send)
        else:
            await refused(scope, receive, send)

    def check(self, request: Request, target: Target) -> Response | None:
        """The refusal for this request, or None to let it through."""
        key = api_key(request)
        if key is None:
            return self.unauthorized(target, missing=True)
        key_scope = self.backend.keys.scope(key)
        if key_scope is None:
            return self.unauthorized(target, missing=False)
        if target.area == "data":
            return self._check_endpoint(key, key_scope, target)
        level = key_scope.api
        if level == "none":
            what = "has no access to the REST API"
        elif level == "read" and target.writes:
            what = "is read-only on the REST API"
        else:
            return None
        return self.error(
            target, 403, f"access denied: this API key {what}; use a key with read/write access"
        )

    def _check_endpoint(self, key: str, key_scope: KeyScope, target: Target) -> Response | None:
        endpoint_id = target.endpoint_id or ""
        found = self.backend.find_endpoint(endpoint_id)
        if found is None or found[0] != self.backend.keys.account_of(key):
            return None  # the data plane answers 404 for an endpoint that is not the account's
        level: Level = key_scope.endpoint(endpoint_id, found[1].get("name"))
        if level == "none":
            what = "has no access to"
        elif level == "read" and target.writes:
            what = "may only read (status, stream, health) on"
        else:
            return None
        return self.error(
            target,
            403,
            f"access denied: this API key {what} endpoint {endpoint_id}; use a key with "
            "read/write access to it",
        )

    def unauthorized(self, target: Target, *, missing: bool) -> Response:
        if missing and target.area == "data":
            return _data_error(401, MISSING_DATA_KEY)
        if missing:
            return self.generations[target.area].unauthorized()
        return self.error(
            target,
            401,
            "invalid API key: it is not one of the keys this local RunPod accepts "
            "(podkit emulator start --api-key / --api-keys-file); send one of those",
        )

    def error(self, target: Target, status: int, message: str) -> Response:
        if target.area == "data":
            return _data_error(status, message)
        return self.generations[target.area].error(status, message)


def _data_error(status: int, message: str) -> Response:
    """The data plane's error body (as `podkit.emulator.dataplane.routes.error`)."""
    return JSONResponse({"error": message}, status_code=status)
