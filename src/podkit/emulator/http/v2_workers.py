"""`/v2/serverless/{id}/workers`, `/releases` and the worker log stream (server-sent events)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import Response, StreamingResponse

from podkit.emulator.backend import BackendError
from podkit.emulator.backend.errors import not_found
from podkit.emulator.http.common import Call, json_response
from podkit.emulator.http.context import Context
from podkit.emulator.runtime import LogLine, WorkerInfo

STATUSES = ("RUNNING", "IDLE", "INITIALIZING", "THROTTLED", "UNHEALTHY")
POLL_S = 0.2
KEEPALIVE_S = 15.0


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def worker_out(w: WorkerInfo, version: int, gpu_count: int) -> dict[str, Any]:
    uptime = (
        None
        if w.started_at is None
        else max(0, int(dt.datetime.now(dt.UTC).timestamp() - w.started_at))
    )
    return {
        "id": w.id,
        "status": w.status if w.status in STATUSES else "UNHEALTHY",
        "isStale": w.version is not None and w.version != version,
        "version": w.version,
        "gpuCount": gpu_count,
        "image": w.image,
        "uptimeSeconds": uptime,
        "gpuTypeId": None,
        "dataCenterId": None,
        "startedAt": iso(w.started_at),
    }


class WorkerRoutes:
    """The routes that read the worker view (through `ctx`, which the data plane fills)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def table(self) -> list[tuple[str, str, Callable[[Call], Response]]]:
        return [
            ("GET", "/v2/serverless/{id}/workers", self.list_workers),
            ("GET", "/v2/serverless/{id}/releases", self.list_releases),
            ("GET", "/v2/serverless/{id}/workers/{workerId}/logs", self.worker_logs),
        ]

    def list_workers(self, c: Call) -> Response:
        ep = c.backend.get_endpoint(c.key, c.params["id"])
        count = (ep.get("gpu") or {}).get("count", 0)
        live = self.ctx.worker_view.workers(ep["id"])
        workers = [worker_out(w, ep["version"], count) for w in live]
        summary = {s.lower(): sum(w["status"] == s for w in workers) for s in STATUSES}
        summary["total"] = len(workers)
        return json_response(
            {"workers": workers, "summary": summary, "endpointVersion": ep["version"]}
        )

    def list_releases(self, c: Call) -> Response:
        ep = c.backend.get_endpoint(c.key, c.params["id"])
        # A failed start runs no release, so it does not hold a rollout back.
        workers = [w for w in self.ctx.worker_view.workers(ep["id"]) if w.status != "UNHEALTHY"]
        latest = sum(w.version == ep["version"] for w in workers)
        total = len(workers)
        rollout = {
            "inProgress": latest < total,
            "workersOnLatest": latest,
            "workersTotal": total,
            "percentOnLatest": round(100 * latest / total) if total else 0,
        }
        releases = [
            {**r, "workerCount": sum(w.version == r["version"] for w in workers)}
            for r in ep["releases"]
        ]
        return json_response(
            {"endpointVersion": ep["version"], "rollout": rollout, "releases": releases}
        )

    def worker_logs(self, c: Call) -> Response:
        ep = c.backend.get_endpoint(c.key, c.params["id"])
        wid = c.params["workerId"]
        lines = self.ctx.worker_view.logs(ep["id"], wid)
        if lines is None:
            raise not_found("worker", wid, f"/v2/serverless/{ep['id']}/workers")
        stream = _follow(self.ctx, ep["id"], wid, _start_after(c, lines), c.query.get("source"))
        headers = {
            "Cache-Control": "no-cache",
            "Connection": "keep-alive",
            "X-Accel-Buffering": "no",
        }
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


def table(ctx: Context) -> list[tuple[str, str, Callable[[Call], Response]]]:
    """The worker routes bound to `ctx`."""
    return WorkerRoutes(ctx).table()


def _start_after(c: Call, lines: list[LogLine]) -> int:
    """The sequence number after which to stream (Last-Event-ID > since > tail)."""
    cursor = c.extras.get("last_event_id") or c.query.get("since")
    if cursor:
        stamp, _, seq = cursor.partition("/")
        if seq.isdigit():
            return int(seq)
        when = _parse_ts(stamp)
        return max((ln.seq for ln in lines if ln.ts < when), default=-1)
    raw = c.query.get("tail", "100")
    if not raw.isdigit() or int(raw) > 5000:
        raise BackendError(
            422,
            "Request validation failed.",
            problems=[f"tail: {raw!r} must be an integer from 0 to 5000"],
        )
    tail = int(raw)
    backlog = lines[-tail:] if tail else []
    return backlog[0].seq - 1 if backlog else (lines[-1].seq if lines else -1)


def _parse_ts(stamp: str) -> float:
    try:
        return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise BackendError(
            422,
            "Request validation failed.",
            problems=[f"since: {stamp!r} is not an RFC 3339 date-time"],
        ) from exc


async def _follow(
    ctx: Context, endpoint_id: str, worker_id: str, after: int, source: str | None
) -> AsyncIterator[str]:
    """Backlog, then live lines as they appear; `:` comments keep idle connections open.
    The stream ends when the worker is gone."""
    idle = 0.0
    while True:
        lines = ctx.worker_view.logs(endpoint_id, worker_id)
        if lines is None:
            return  # the worker is gone, and its container lines with it
        fresh = [ln for ln in lines if ln.seq > after]
        for ln in fresh:
            after = ln.seq
            if source and ln.source != source:
                continue
            stamp = iso(ln.ts)
            data = json.dumps({"ts": stamp, "source": ln.source, "line": ln.line})
            yield f"id: {stamp}/{ln.seq:012d}\ndata: {data}\n\n"
        idle = 0.0 if fresh else idle + POLL_S
        if idle >= KEEPALIVE_S:
            idle = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_S)
