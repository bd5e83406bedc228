"""One Starlette app on one origin: v2 and v1 control planes, the admin routes, the data
plane's routes when its package is present, and the load balancer in front of them all."""

from __future__ import annotations

import importlib
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from podkit.emulator.backend import Backend
from podkit.emulator.http import admin, v1, v2
from podkit.emulator.http.auth import AuthMiddleware
from podkit.emulator.http.context import Context
from podkit.emulator.http.middleware import FaultMiddleware, Recorder, error_body
from podkit.emulator.loadbalancer import LoadBalancerMiddleware
from podkit.emulator.loadbalancer import wire as wire_loadbalancer
from podkit.emulator.openapi import V1, V2, load

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def create_app(
    backend: Backend, *, context: Context | None = None, recorder: Recorder | None = None
) -> Starlette:
    """The local RunPod as an ASGI app over `backend`."""
    ctx = context or Context()
    routes: list[BaseRoute] = [
        Route("/v2/openapi.json", _document(V2), methods=["GET"]),
        Route("/v1/openapi.json", _document(V1), methods=["GET"]),
        *v2.routes(backend, ctx),
        *v1.routes(backend),
        *admin.routes(backend),
        *_dataplane_routes(backend, ctx),
    ]
    balancer = wire_loadbalancer(backend, ctx)
    # Literal paths first: `/v2/registries/delegations` must not read as registry "delegations".
    missing = _not_emulated(routes)
    literal = [r for r in missing if isinstance(r, Route) and "{" not in r.path]
    routes = [*literal, *routes, *(r for r in missing if r not in literal)]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.add_middleware(AuthMiddleware, backend=backend)  # inside the faults: they come first
    app.add_middleware(FaultMiddleware, backend=backend)
    app.add_middleware(LoadBalancerMiddleware, balancer=balancer, backend=backend)
    if recorder is not None:
        app.add_middleware(_RecorderMiddleware, recorder=recorder)
    app.state.backend = backend
    app.state.context = ctx
    return app


def _dataplane_routes(backend: Backend, context: Context) -> list[BaseRoute]:
    """`podkit.emulator.dataplane.routes(backend, context)`, once that package exists."""
    try:
        module = importlib.import_module("podkit.emulator.dataplane")
    except ImportError:
        return []
    factory: Any = getattr(module, "routes", None)
    return list(factory(backend, context)) if factory is not None else []


def _not_emulated(served: list[BaseRoute]) -> list[BaseRoute]:
    """Every other operation of both documents answers 501 in its generation's error shape."""
    taken = {(r.path, m) for r in served if isinstance(r, Route) for m in r.methods or ()}
    missing: dict[str, list[str]] = {}
    for name, prefix in ((V2, ""), (V1, "/v1")):
        for path, ops in load(name).doc["paths"].items():
            for method in ops:
                if method.upper() in METHODS and (prefix + path, method.upper()) not in taken:
                    missing.setdefault(prefix + path, []).append(method.upper())
    return [Route(path, _refuse_not_emulated, methods=methods) for path, methods in missing.items()]


async def _refuse_not_emulated(request: Request) -> Response:
    message = (
        f"{request.method} {request.url.path} is not emulated by the local RunPod; "
        "see src/podkit/emulator/COVERAGE.md"
    )
    body, ctype = error_body(request.url.path, 501, message)
    return Response(body, status_code=501, media_type=ctype.decode())


def _document(name: str) -> Any:
    async def serve(request: Request) -> Response:
        return Response(load(name).raw, media_type="application/json")

    return serve


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods, in the shape of the generation the path belongs to."""
    status = getattr(exc, "status_code", 500)
    message = {
        404: "The requested path was not found.",
        405: "The requested method is not allowed for this path.",
    }.get(status, str(exc))
    body, ctype = error_body(request.url.path, status, message)
    headers = dict(getattr(exc, "headers", None) or {})
    return Response(body, status_code=status, media_type=ctype.decode(), headers=headers)


class _RecorderMiddleware:
    def __init__(self, app: Any, recorder: Recorder) -> None:
        self._inner = recorder.middleware(app)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._inner(scope, receive, send)
