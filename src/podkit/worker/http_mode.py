"""`python -m podkit.worker --http`: the same actions as HTTP routes, for load-balancing
endpoints (one image serves either kind of endpoint).

Routes: the health path (`HEALTH_CHECK_PATH`, default `/ping`: 200 once the actions are
loaded), `GET /actions`, `POST /actions/{name}` (the body is the action's input), and the
short forms `GET /gpu`, `GET /files?path=...`, `GET /disk`, `POST /models/sync`. A request
that sends `Accept: text/event-stream` gets progress as server-sent events, then the result.
The server listens on `PORT` (default 80); a different `PORT_HEALTH` gets its own listener.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from podkit.errors import PodkitError, WorkerInputError
from podkit.worker.dispatch import describe_validation, error_result, json_result, masked_crash
from podkit.worker.registry import ActionContext, Registry, registry

DEFAULT_PORT = 80
DEFAULT_HEALTH_PATH = "/ping"
SHORT_FORMS = {"/gpu": "gpu_info", "/files": "list_files", "/disk": "disk_usage"}
TOO_DEEP = object()  # a body json cannot read without running out of stack


def health_path() -> str:
    path = os.environ.get("HEALTH_CHECK_PATH") or DEFAULT_HEALTH_PATH
    return path if path.startswith("/") else f"/{path}"


def create_app(reg: Registry | None = None) -> Starlette:
    """The worker's HTTP app over the action registry (the process-wide one by default)."""
    actions = registry if reg is None else reg

    async def ping(request: Request) -> Response:
        return JSONResponse({"status": "healthy"})

    async def listing(request: Request) -> Response:
        found = [actions.get(n) for n in actions.names()]
        return JSONResponse(
            {"actions": [{"name": a.name, "summary": a.summary} for a in found if a]}
        )

    async def by_name(request: Request) -> Response:
        return await _run(actions, request.path_params["name"], await _body(request), request)

    async def short(request: Request) -> Response:
        return await _run(actions, SHORT_FORMS[request.url.path], _query(request), request)

    async def sync(request: Request) -> Response:
        return await _run(actions, "sync_models", await _body(request), request)

    routes = [
        Route(health_path(), ping, methods=["GET"]),
        Route("/actions", listing, methods=["GET"]),
        Route("/actions/{name}", by_name, methods=["POST"]),
        *(Route(path, short, methods=["GET"]) for path in SHORT_FORMS),
        Route("/models/sync", sync, methods=["POST"]),
    ]
    return Starlette(routes=routes)


_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")
_WHOLE = ("limit", "max_depth")


def _query(request: Request) -> dict[str, Any]:
    """A short form's query as the action's input: `limit` and `max_depth` as whole numbers,
    `recursive` as a yes/no word; anything else is left as text for the action's own check to
    refuse in words."""
    params: dict[str, Any] = dict(request.query_params)
    for name, value in params.items():
        if name in _WHOLE and value.isascii() and value.isdigit() and len(value) <= 18:
            params[name] = int(value)
        elif name == "recursive" and value.lower() in _TRUE + _FALSE:
            params[name] = value.lower() in _TRUE
    return params


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return None  # refused below as not an object
    except RecursionError:
        return TOO_DEEP


async def _run(reg: Registry, name: str, params: Any, request: Request) -> Response:
    act = reg.get(name)
    if act is None:
        message = f"unknown action {name[:64]!r}; valid actions: {', '.join(reg.names())}"
        return JSONResponse({"error": message}, status_code=404)
    if params is TOO_DEEP:
        message = "the body nests JSON too deeply to read; send the action's input as a flat object"
        return JSONResponse({"error": message}, 400)
    if not isinstance(params, dict):
        return JSONResponse({"error": "the body must be a JSON object (the action's input)"}, 400)
    try:
        parsed = act.input_model.model_validate(params)
    except ValueError as exc:  # pydantic's ValidationError
        text = describe_validation(name, act.input_model, exc)  # type: ignore[arg-type]
        return JSONResponse({"error": text}, status_code=400)
    if "text/event-stream" in request.headers.get("accept", ""):
        events = _events(act.handler, name, parsed)
        return StreamingResponse(events, media_type="text/event-stream")
    try:
        # No one listens for progress on a plain request (and there is no job to post it to).
        ctx = ActionContext(job={"id": "http"}, on_progress=_ignore)
        result = await _call(act.handler, name, parsed, ctx)
    except PodkitError as exc:
        status = 400 if isinstance(exc, WorkerInputError) else 500
        return JSONResponse(error_result(exc), status_code=status)
    return JSONResponse(result, status_code=500 if _failed(result) else 200)


async def _call(handler: Any, name: str, parsed: Any, ctx: ActionContext) -> Any:
    """The action's result as JSON data, secrets masked (see `dispatch.json_result`)."""
    try:
        return json_result(name, await handler(parsed, ctx))
    except PodkitError:
        raise
    except Exception as exc:
        stand_in = masked_crash(name, exc)
        if stand_in is None:
            raise
        raise stand_in from None


async def _events(handler: Any, name: str, parsed: Any) -> AsyncIterator[bytes]:
    """Progress events as the action reports them, then one `result` (or `error`) event."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    def report(update: Any) -> None:  # called from the action's thread
        loop.call_soon_threadsafe(queue.put_nowait, update)

    task = asyncio.create_task(
        _call(handler, name, parsed, ActionContext(job={"id": "http"}, on_progress=report))
    )
    while not task.done() or not queue.empty():
        getter = asyncio.create_task(queue.get())
        done, _ = await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            yield _event("progress", getter.result())
        else:
            getter.cancel()
    try:
        yield _event("result", task.result())
    except PodkitError as exc:
        yield _event("error", error_result(exc))


def _event(kind: str, data: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, default=str)}\n\n".encode()


def _ignore(update: Any) -> None:
    return None


def _failed(result: Any) -> bool:
    return isinstance(result, dict) and "error" in result and len(result) == 1


def port_from_env(name: str, default: int) -> int:
    """A port from the environment; a value that is not one ends the worker with a line that
    names the variable (not a traceback)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if raw.isascii() and raw.isdigit() and 0 < int(raw) < 65536:
        return int(raw)
    sys.stderr.write(
        f"podkit worker: {name}={raw[:32]!r} is not a port; set {name} to a whole number "
        "from 1 to 65535 (the port the endpoint's template exposes)\n"
    )
    raise SystemExit(2)


def serve() -> None:
    """Serve on `PORT` (and `PORT_HEALTH` when it differs) until stopped."""
    import uvicorn

    port = port_from_env("PORT", DEFAULT_PORT)
    health = port_from_env("PORT_HEALTH", port)
    host = os.environ.get("PODKIT_HTTP_HOST", "0.0.0.0")  # the container's network
    app = create_app()
    servers = [uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info"))]
    if health != port:
        servers.append(
            uvicorn.Server(uvicorn.Config(app, host=host, port=health, log_level="warning"))
        )

    async def run_all() -> None:
        await asyncio.gather(*(s.serve() for s in servers))

    asyncio.run(run_all())
