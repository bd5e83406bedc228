"""The worker protocol the `runpod` SDK speaks (`RUNPOD_WEBHOOK_*` URLs), under `/_worker/`.

job-take answers 200 with a job (or a list for job-take-batch) or 204 after holding the poll
briefly; job-stop answers `{"jobsToStop": [...]}` or 204; job-done, job-stream and ping 200.
Workers authenticate with their own token, sent raw in `Authorization` as the SDK does.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from podkit.emulator.dataplane.backend import JobsBackend, JobsError
from podkit.emulator.dataplane.waiters import Waiters
from podkit.emulator.jsonbody import loads_strict

PREFIX = "/_worker/{endpoint_id}"
WorkerHandler = Callable[[Request, str, str], Awaitable[Response]]


def read_json(raw: bytes) -> Any:
    """Parse a JSON body (the SDK sends JSON text as form-urlencoded), strictly: NaN,
    Infinity, numbers beyond a double and unpaired surrogates are no JSON, and no answer could
    carry them back."""
    try:
        return loads_strict(raw)
    except ValueError as exc:
        raise JobsError(400, f"the request body is not valid JSON ({exc})") from None


def _guard(
    backend: JobsBackend, handler: WorkerHandler
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        endpoint_id = request.path_params["endpoint_id"]
        worker_id = request.path_params["worker_id"]
        worker = backend.worker(worker_id)
        sent = request.headers.get("authorization", "")
        if worker is None or not hmac.compare_digest(sent.encode(), worker.token.encode()):
            return JSONResponse({"error": "unknown worker or bad worker key"}, status_code=401)
        try:
            return await handler(request, endpoint_id, worker_id)
        except JobsError as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)

    return endpoint


def worker_routes(backend: JobsBackend, waiters: Waiters) -> list[Route]:
    """The worker-protocol routes the supervisor's `RUNPOD_WEBHOOK_*` env vars point at."""
    hold = backend.settings.worker_poll_hold_s

    async def take(request: Request, endpoint_id: str, worker_id: str, batch: bool) -> Response:
        raw = request.query_params.get("batch_size", "1") if batch else "1"
        count = max(1, int(raw)) if raw.isdigit() else 1
        busy = request.query_params.get("job_in_progress") == "1"

        def probe() -> list[dict[str, Any]] | None:
            return backend.take_jobs(endpoint_id, worker_id, count, in_progress=busy) or None

        jobs = await waiters.wait_for(endpoint_id, probe, hold)
        if not jobs:
            return Response(status_code=204)
        return JSONResponse(jobs if batch else jobs[0])

    async def job_take(request: Request, endpoint_id: str, worker_id: str) -> Response:
        return await take(request, endpoint_id, worker_id, batch=False)

    async def job_take_batch(request: Request, endpoint_id: str, worker_id: str) -> Response:
        return await take(request, endpoint_id, worker_id, batch=True)

    async def job_stop(request: Request, endpoint_id: str, worker_id: str) -> Response:
        def probe() -> list[str] | None:
            return backend.take_stop_signals(endpoint_id, worker_id) or None

        stops = await waiters.wait_for(endpoint_id, probe, hold)
        if not stops:
            return Response(status_code=204)
        return JSONResponse({"jobsToStop": stops})

    async def job_done(request: Request, endpoint_id: str, worker_id: str) -> Response:
        try:
            body = read_json(await request.body())
        except JobsError:  # a handler's output with NaN in it: the job fails, it does not hang
            body = {
                "error": "the handler's result is not valid JSON (NaN, Infinity and unpaired "
                "surrogates are not)"
            }
        backend.job_done(endpoint_id, worker_id, request.path_params["job_id"], body)
        return JSONResponse({})

    async def job_stream(request: Request, endpoint_id: str, worker_id: str) -> Response:
        body = read_json(await request.body())
        backend.job_stream(endpoint_id, worker_id, request.path_params["job_id"], body)
        return JSONResponse({})

    async def ping(request: Request, endpoint_id: str, worker_id: str) -> Response:
        listed = request.query_params.get("job_id")
        jobs = [job for job in listed.split(",") if job] if listed is not None else None
        backend.ping(endpoint_id, worker_id, jobs)
        return JSONResponse({})

    table: list[tuple[str, WorkerHandler, str]] = [
        ("/job-take/{worker_id}", job_take, "GET"),
        ("/job-take-batch/{worker_id}", job_take_batch, "GET"),
        ("/job-stop/{worker_id}", job_stop, "GET"),
        ("/job-done/{worker_id}/{job_id}", job_done, "POST"),
        ("/job-stream/{worker_id}/{job_id}", job_stream, "POST"),
        ("/ping/{worker_id}", ping, "GET"),
    ]
    return [
        Route(PREFIX + path, _guard(backend, handler), methods=[method])
        for path, handler, method in table
    ]
