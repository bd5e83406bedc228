"""Backend records <-> REST v2 shapes (requests in, responses out)."""

from __future__ import annotations

import shlex
from typing import Any

from podkit.emulator.backend import BackendError
from podkit.emulator.backend.catalog import Catalog
from podkit.emulator.backend.state import Record

QUEUE_URLS = {
    "run": "run",
    "runSync": "runsync",
    "status": "status/{job_id}",
    "stream": "stream/{job_id}",
    "cancel": "cancel/{job_id}",
    "retry": "retry/{job_id}",
    "purgeQueue": "purge-queue",
    "health": "health",
}


def split_args(args: str) -> list[str]:
    try:
        return shlex.split(args)
    except ValueError as exc:
        raise BackendError(
            422,
            f"$.args: cannot split into arguments ({exc}); fix the quoting",
            problems=[f"$.args: {exc}"],
        ) from exc


def container_in(body: dict[str, Any]) -> dict[str, Any]:
    """The container fields of a v2 body, in the backend's names (only those present)."""
    out: dict[str, Any] = {
        k: body[k] for k in ("image", "disk", "ports", "env", "registry") if k in body
    }
    if "args" in body:
        out["dockerStartCmd"] = split_args(body["args"])
    return out


def scaling_in(scaling: dict[str, Any]) -> dict[str, Any]:
    value = scaling.get("queueDelay", scaling.get("requestCount"))
    return {"type": scaling["type"], "value": value}


def gpu_in(gpu: dict[str, Any], *, create: bool) -> dict[str, Any]:
    out = dict(gpu)
    if "excludedTypes" in out:
        out["excludedTypes"] = [t.strip() for t in out["excludedTypes"]]
    if create:
        out.setdefault("count", 1)
        out.setdefault("excludedTypes", [])
        out.setdefault("minCudaVersion", None)
    return out


def endpoint_out(ep: Record, tpl: Record, origin: str, catalog: Catalog) -> dict[str, Any]:
    """An endpoint record as v2's `Endpoint`."""
    view: dict[str, Any] = {"id": ep["id"], "name": ep["name"], "type": ep["type"]}
    if ep["type"] == "QUEUE":
        base = f"{origin}/v2/{ep['id']}"
        view["requestUrls"] = {k: f"{base}/{v}" for k, v in QUEUE_URLS.items()}
    else:
        health = (tpl.get("env") or {}).get("HEALTH_CHECK_PATH") or "/ping"
        view["requestUrls"] = {
            "base": f"{origin}/lb/{ep['id']}",
            "health": f"{origin}/lb/{ep['id']}/{health.lstrip('/')}",
        }
    view.update(template_container_out(tpl))
    if ep.get("gpu") is not None:
        view["gpu"] = gpu_out(ep["gpu"])
    else:
        view["gpu"] = None
        view["cpu"] = [
            {**c, "memory": catalog.cpu_memory_gb(c["id"], c["vcpuCount"])} for c in ep["cpu"]
        ]
    workers = dict(ep["workers"])
    if ep["type"] == "QUEUE" and ep["scaling"]["type"] == "REQUEST_COUNT":
        workers.pop("idleTimeout", None)  # not applicable; the platform omits it
    view["workers"] = workers
    view["scaling"] = scaling_out(ep["scaling"])
    for key in ("dataCenterIds", "networkVolumes", "timeout", "flashboot", "createdAt"):
        view[key] = ep[key]
    return view


def gpu_out(gpu: dict[str, Any]) -> dict[str, Any]:
    out = {
        "pools": gpu["pools"],
        "count": gpu.get("count", 1),
        "allowedCudaVersions": gpu.get("allowedCudaVersions", []),
        "minCudaVersion": gpu.get("minCudaVersion"),
    }
    if gpu.get("excludedTypes"):
        out["excludedTypes"] = gpu["excludedTypes"]
    return out


def scaling_out(scaling: dict[str, Any]) -> dict[str, Any]:
    if scaling["type"] == "QUEUE_DELAY":
        return {"type": "QUEUE_DELAY", "queueDelay": scaling["value"]}
    return {"type": "REQUEST_COUNT", "requestCount": int(scaling["value"])}


def template_container_out(tpl: Record) -> dict[str, Any]:
    return {
        "image": tpl["image"],
        "args": shlex.join(tpl["dockerStartCmd"]),
        "disk": tpl["disk"],
        "ports": tpl["ports"],
        "env": tpl["env"],
        "registry": tpl["registry"],
    }


def template_in(body: dict[str, Any]) -> dict[str, Any]:
    out = container_in(body)
    for key in (
        "name",
        "mounts",
        "serverless",
        "public",
        "category",
        "startSsh",
        "startJupyter",
        "allowedCudaVersions",
    ):
        if key in body:
            out[key] = body[key]
    return out


def template_out(tpl: Record) -> dict[str, Any]:
    """A template record as v2's `Template`."""
    view = {"id": tpl["id"], "name": tpl["name"], **template_container_out(tpl)}
    for key in (
        "mounts",
        "serverless",
        "public",
        "category",
        "startSsh",
        "startJupyter",
        "allowedCudaVersions",
    ):
        view[key] = tpl[key]
    return view


def volume_out(vol: Record) -> dict[str, Any]:
    return {k: vol[k] for k in ("id", "name", "size", "dataCenter", "type")}
