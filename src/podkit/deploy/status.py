"""`podkit status`: the project's endpoints, release and rollout, workers, queue, quota."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from podkit.config import Deployment
from podkit.deploy.desired import scope_of
from podkit.deploy.history import History
from podkit.deploy.model import Resource, Snapshot
from podkit.deploy.preflight import DEFAULT_WORKER_QUOTA
from podkit.deploy.snapshot import read_snapshot
from podkit.errors import PodkitError
from podkit.runpod import RunPodClient
from podkit.runpod.resources.health import endpoint_health


def _load_balancer_status(client: RunPodClient, endpoint_id: str) -> dict[str, Any]:
    """A load-balancing endpoint has no queue: its base URL and its workers' health states."""
    endpoint = client.endpoints.get(endpoint_id)
    urls: dict[str, str] = getattr(endpoint, "request_urls", None) or {}
    states: dict[str, int] = {}
    for worker in client.workers.list(endpoint_id).workers:
        states[worker.status] = states.get(worker.status, 0) + 1
    return {"type": "LOAD_BALANCER", "base_url": urls.get("base"), "worker_states": states}


def _endpoint_status(client: RunPodClient, endpoint_id: str, kind: Any = None) -> dict[str, Any]:
    releases = client.releases.list(endpoint_id)
    workers = client.workers.list(endpoint_id)
    latest = releases.releases[0] if releases.releases else None
    out: dict[str, Any] = {
        "endpoint_version": releases.endpoint_version,
        "release": {"id": latest.id, "version": latest.version, "created_at": latest.created_at}
        if latest
        else None,
        "rollout": releases.rollout.model_dump(),
        "workers": workers.summary.model_dump(),
        "queue": None,
    }
    if kind == "LOAD_BALANCER":
        return out | _load_balancer_status(client, endpoint_id)
    try:
        health = endpoint_health(client.target, client.key, endpoint_id)
        out["queue"] = {"in_queue": health.jobs.in_queue, "in_progress": health.jobs.in_progress}
    except PodkitError as exc:
        out["queue_error"] = exc.message  # the data plane may be unreachable; status still useful
    return out


def endpoint_image(snapshot: Snapshot, endpoint: Resource) -> str | None:
    """The endpoint's image (v2: on the endpoint; v1: on the template it runs)."""
    if endpoint.fields.get("image"):
        return str(endpoint.fields["image"])
    # By the id the endpoint runs: two copies of a template (a crashed apply) share its name.
    used = endpoint.refs.get("template")
    templates = [r for r in snapshot.of_kind("template") if used and r.id == used]
    templates = templates or snapshot.named("template", str(endpoint.fields.get("template")))
    return str(templates[0].fields.get("image")) if templates else None


def read_status(
    client: RunPodClient, deployment: Deployment, history: History, quota: int | None
) -> dict[str, Any]:
    """Everything `podkit status` shows, as JSON-ready data (reads only)."""
    scope = scope_of(deployment)
    snapshot = read_snapshot(client, scope)
    endpoints = [
        {"id": r.id, "name": r.name, "image": endpoint_image(snapshot, r),
         "workers_min": r.fields.get("workers.min"), "workers_max": r.fields.get("workers.max"),
         **_endpoint_status(client, r.id or "", r.fields.get("type"))}
        for r in snapshot.owned(scope)
        if r.kind == "endpoint"
    ]  # fmt: skip
    used = sum(int(r.fields.get("workers.max") or 0) for r in snapshot.of_kind("endpoint"))
    limit = quota or DEFAULT_WORKER_QUOTA
    records = history.records()
    return {
        "project": scope.project,
        "environment": scope.env,
        "api": client.api,
        "endpoints": endpoints,
        "volumes": [
            {"id": r.id, "name": r.name, **dict(r.fields)}
            for r in snapshot.owned(scope)
            if r.kind == "volume"
        ],
        "quota": {"used": used, "limit": limit, "available": max(limit - used, 0)},
        "history": {
            "records": len(records),
            "current": records[-1].number if records else None,
            "image": records[-1].image if records else None,
            "destroyed_at": records[-1].applied_at if records and records[-1].destroyed else None,
        },
    }


def _rollout_text(rollout: dict[str, Any], workers: int) -> str:
    if not workers:
        return "no workers yet"
    text = f"{rollout['percent_on_latest']}% on latest"
    return text + (" (rolling)" if rollout["in_progress"] else "")


def _queue_text(endpoint: dict[str, Any], queue: dict[str, Any]) -> str:
    if endpoint.get("type") == "LOAD_BALANCER":
        states = ", ".join(f"{n} {s.lower()}" for s, n in endpoint["worker_states"].items())
        return f"load balancer at {endpoint['base_url']}" + (f"; {states}" if states else "")
    return f"{queue.get('in_queue', '?')} queued, {queue.get('in_progress', '?')} running"


def _history_text(hist: dict[str, Any]) -> str:
    if not hist["current"]:
        return "history: no apply recorded from this directory to this target"
    if hist.get("destroyed_at"):
        return (
            f"history: destroyed on {hist['destroyed_at'][:10]} by history #{hist['current']}; "
            "run podkit apply"
        )
    return f"history: record #{hist['current']} ({hist['image']})"


def _workers_text(w: dict[str, Any], workers_max: Any) -> str:
    """Healthy workers by state; unhealthy ones (crashed, listed dead) counted apart."""
    states = ("running", "idle", "initializing", "throttled")
    parts = [f"{w.get(s, 0)} {s}" for s in states if w.get(s) or s in ("running", "idle")]
    healthy = w["total"] - (w.get("unhealthy") or 0)
    text = f"{healthy} ({', '.join(parts)}); max {workers_max}"
    if w.get("unhealthy"):
        text += f"; {w['unhealthy']} unhealthy (see `podkit health`)"
    return text


def render_status(report: dict[str, Any]) -> RenderableType:
    title = f"{report['project']}/{report['environment']} (REST {report['api']})"
    table = Table(title=title, title_justify="left")
    for column in ("endpoint", "id", "release", "rollout", "workers", "queue"):
        table.add_column(column, overflow="fold")
    for ep in report["endpoints"]:
        w, r, q = ep["workers"], ep["rollout"], ep.get("queue") or {}
        table.add_row(
            ep["name"],
            ep["id"],
            f"v{ep['endpoint_version']}" if ep["endpoint_version"] is not None else "-",
            _rollout_text(r, w["total"]),
            _workers_text(w, ep["workers_max"]),
            _queue_text(ep, q),
        )
    quota = report["quota"]
    hist = report["history"]
    lines = [
        f"worker quota: {quota['used']} used of {quota['limit']} ({quota['available']} free)",
        _history_text(hist),
    ]
    body = table if report["endpoints"] else Text(f"{title}: no endpoint deployed")
    return Group(body, *(Text(line) for line in lines))
