"""Data-plane test controls under `/_emulator/` (loopback only, no API key), for CI that runs
`podkit emulator start` and cannot reach the in-process objects.

POST /_emulator/endpoints/{id}/workers/{workerId}/kill    SIGKILL that worker
POST /_emulator/endpoints/{id}/jobs/{jobId}/kill-worker   SIGKILL the worker running the job

The killed worker is replaced; its jobs are queued again once (`retries`), then FAILED.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from podkit.emulator.dataplane.backend import JobsError
from podkit.emulator.dataplane.plane import DataPlane


def admin_routes(plane: DataPlane) -> list[Route]:
    """Worker-crash fault injection over HTTP."""

    async def kill_worker(request: Request) -> Response:
        endpoint_id = request.path_params["id"]
        worker_id = request.path_params["workerId"]
        record = plane.backend.worker(worker_id)
        if record is None or record.endpoint_id != endpoint_id or not plane.kill_worker(worker_id):
            message = f"no running worker {worker_id!r} on endpoint {endpoint_id!r}"
            return JSONResponse({"message": message}, status_code=404)
        return JSONResponse({"killed": worker_id})

    async def kill_job_worker(request: Request) -> Response:
        endpoint_id = request.path_params["id"]
        job_id = request.path_params["jobId"]
        try:
            worker_id = plane.kill_worker_running(endpoint_id, job_id)
        except JobsError as exc:
            return JSONResponse({"message": exc.message}, status_code=exc.status)
        if worker_id is None:
            message = f"job {job_id!r} is not running on a worker; nothing to kill"
            return JSONResponse({"message": message}, status_code=409)
        return JSONResponse({"killed": worker_id})

    base = "/_emulator/endpoints/{id}"
    return [
        Route(base + "/workers/{workerId}/kill", kill_worker, methods=["POST"]),
        Route(base + "/jobs/{jobId}/kill-worker", kill_job_worker, methods=["POST"]),
    ]
