"""One Starlette app on one origin: v2 and v1 control planes, the admin routes, and the data
plane's routes when its package is present."""

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
from podkit.emulator.http.context import Context
from podkit.emulator.http.middleware import FaultMiddleware, Recorder, error_body
from podkit.emulator.openapi import V1, V2, load


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
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.add_middleware(FaultMiddleware, backend=backend)
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
