"""The serverless data plane over HTTP (`https://api.runpod.ai/v2/{endpoint_id}/...`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from podkit.emulator.dataplane.auth import AccountResolver, account_for_key, api_key
from podkit.emulator.dataplane.backend import JobsBackend, JobsError
from podkit.emulator.dataplane.jobs import FINAL_STATES
from podkit.emulator.dataplane.waiters import Waiters
from podkit.emulator.dataplane.worker_routes import read_json

Handler = Callable[[Request, JobsBackend, str], Awaitable[Response]]


def error(status: int, message: str) -> JSONResponse:
    """The data plane's error body."""
    return JSONResponse({"error": message}, status_code=status)


def _guard(
    backend: JobsBackend, resolve: AccountResolver, handler: Handler
) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate, check the endpoint belongs to the key's account, map JobsError."""

    async def endpoint(request: Request) -> Response:
        key = api_key(request)
        if key is None:
            return error(401, "missing API key: send the header 'Authorization: Bearer <key>'")
        endpoint_id = request.path_params["endpoint_id"]
        runtime = backend.runtime(endpoint_id)
        if runtime is None or runtime.account != resolve(key):
            return error(404, f"endpoint {endpoint_id!r} does not exist for this API key")
        try:
            return await handler(request, backend, endpoint_id)
        except JobsError as exc:
            return error(exc.status, exc.message)

    return endpoint


async def _body(request: Request, limit: int, op: str) -> Any:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise JobsError(413, f"/{op} payload exceeds the {limit // 1_000_000} MB limit")
    raw = await request.body()
    if len(raw) > limit:
        raise JobsError(413, f"/{op} payload exceeds the {limit // 1_000_000} MB limit")
    return read_json(raw)


async def _run(request: Request, backend: JobsBackend, endpoint_id: str) -> Response:
    body = await _body(request, backend.settings.max_run_bytes, "run")
    job = backend.submit(endpoint_id, body)
    return JSONResponse({"id": job.id, "status": str(job.status)})


def _wait_ms(request: Request, backend: JobsBackend) -> int:
    settings = backend.settings
    raw = request.query_params.get("wait")
    if raw is None:
        return settings.runsync_default_wait_ms
    if not raw.isdigit():
        raise JobsError(400, f"wait={raw!r} must be a whole number of milliseconds")
    return min(max(int(raw), settings.runsync_min_wait_ms), settings.runsync_max_wait_ms)


def _runsync(waiters: Waiters) -> Handler:
    async def handler(request: Request, backend: JobsBackend, endpoint_id: str) -> Response:
        wait_s = _wait_ms(request, backend) / 1000
        body = await _body(request, backend.settings.max_runsync_bytes, "runsync")
        job_id = backend.submit(endpoint_id, body, sync=True).id

        def finished() -> dict[str, Any] | None:
            status = backend.status_body(endpoint_id, job_id)
            return status if status["status"] in FINAL_STATES else None

        result = await waiters.wait_for(endpoint_id, finished, wait_s)
        return JSONResponse(result or backend.status_body(endpoint_id, job_id))

    return handler


async def _status(request: Request, backend: JobsBackend, endpoint_id: str) -> Response:
    return JSONResponse(backend.status_body(endpoint_id, request.path_params["job_id"]))


async def _stream(request: Request, backend: JobsBackend, endpoint_id: str) -> Response:
    return JSONResponse(backend.read_stream(endpoint_id, request.path_params["job_id"]))


async def _cancel(request: Request, backend: JobsBackend, endpoint_id: str) -> Response:
    return JSONResponse(backend.cancel(endpoint_id, request.path_params["job_id"]))


async def _retry(request: Request, backend: JobsBackend, endpoint_id: str) -> Response:
    return JSONResponse(backend.retry(endpoint_id, request.path_params["job_id"]))


async def _health(request: Request, backend: JobsBackend, endpoint_id: str) -> Response:
    return JSONResponse(backend.health(endpoint_id))


async def _purge(request: Request, backend: JobsBackend, endpoint_id: str) -> Response:
    return JSONResponse(backend.purge_queue(endpoint_id))


def routes(
    backend: JobsBackend,
    waiters: Waiters,
    *,
    resolve_account: AccountResolver = account_for_key,
) -> list[Route]:
    """The client-facing data-plane routes, to mount on the emulator's origin."""
    table: list[tuple[str, Handler, list[str]]] = [
        ("/run", _run, ["POST"]),
        ("/runsync", _runsync(waiters), ["POST"]),
        ("/status/{job_id}", _status, ["GET", "POST"]),
        ("/stream/{job_id}", _stream, ["GET", "POST"]),
        ("/cancel/{job_id}", _cancel, ["POST"]),
        ("/retry/{job_id}", _retry, ["POST"]),
        ("/health", _health, ["GET"]),
        ("/purge-queue", _purge, ["POST"]),
    ]
    return [
        Route(
            "/v2/{endpoint_id}" + path,
            _guard(backend, resolve_account, handler),
            methods=methods,
        )
        for path, handler, methods in table
    ]
