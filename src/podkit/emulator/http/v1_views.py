"""Backend records <-> REST v1 shapes (v1 field names, bare arrays, v1 defaults)."""

from __future__ import annotations

from typing import Any

from podkit.emulator.backend import Backend
from podkit.emulator.backend.catalog import CUDA_VERSIONS, DATACENTER_IDS
from podkit.emulator.backend.errors import rule
from podkit.emulator.backend.state import Record

# v1 template defaults (OAS1); a v1 endpoint's defaults where the spec names none are the
# console's (workers max 3, execution timeout 600 s).
TEMPLATE_DEFAULTS: dict[str, Any] = {
    "disk": 50,
    "ports": ["8888/http", "22/tcp"],
    "volumeInGb": 20,
    "volumeMountPath": "/workspace",
    "category": "NVIDIA",
    "env": {},
    "readme": "",
}
DEFAULT_GPU_TYPES = ["NVIDIA GeForce RTX 4090"]
TEMPLATE_RENAMES = {
    "imageName": "image",
    "containerDiskInGb": "disk",
    "containerRegistryAuthId": "registry",
    "isPublic": "public",
    "isServerless": "serverless",
}
TEMPLATE_SAME = (
    "name",
    "dockerEntrypoint",
    "dockerStartCmd",
    "env",
    "ports",
    "readme",
    "volumeInGb",
    "volumeMountPath",
    "category",
)


def template_in(body: dict[str, Any]) -> dict[str, Any]:
    out = {TEMPLATE_RENAMES[k]: v for k, v in body.items() if k in TEMPLATE_RENAMES}
    out.update({k: body[k] for k in TEMPLATE_SAME if k in body})
    if out.get("registry") == "":
        out["registry"] = None  # v1 clears the credential with ""
    bad = sorted(k for k, v in out.get("env", {}).items() if not isinstance(v, str))
    if bad:
        raise rule(
            f"env: values must be strings; quote the value of {', '.join(bad)} "
            '(e.g. {"PORT": "8000"})'
        )
    return out


def template_out(tpl: Record) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": tpl["id"],
        "name": tpl["name"],
        "imageName": tpl["image"],
        "category": tpl["category"],
        "containerDiskInGb": tpl["disk"],
        "dockerEntrypoint": tpl["dockerEntrypoint"],
        "dockerStartCmd": tpl["dockerStartCmd"],
        "env": tpl["env"],
        "earned": 0,
        "isPublic": tpl["public"],
        "isRunpod": False,
        "isServerless": tpl["serverless"],
        "ports": tpl["ports"],
        "readme": tpl["readme"],
        "runtimeInMin": 0,
        "volumeInGb": tpl["volumeInGb"],
        "volumeMountPath": tpl["volumeMountPath"],
    }
    if tpl["registry"]:
        view["containerRegistryAuthId"] = tpl["registry"]
    return view


def gpu_types_to_pools(backend: Backend, types: list[str]) -> tuple[list[str], list[str]]:
    """v1 `gpuTypeIds` -> v2 (`pools`, `excludedTypes`) through the catalog's pool table."""
    pools: list[str] = []
    for type_id in types:
        pool = backend.catalog.gpus.get(type_id, {}).get("pool")
        if pool is None:
            raise rule(
                f"gpuTypeIds: '{type_id}' is not in a serverless GPU pool; pick types "
                "whose 'pool' is set in GET /v2/catalog/gpus"
            )
        if pool not in pools:
            pools.append(pool)
    members = backend.catalog.pools()
    excluded = [t for p in pools for t in members[p] if t not in types]
    return pools, excluded


def gpu_types_of(backend: Backend, gpu: dict[str, Any]) -> list[str]:
    members = backend.catalog.pools()
    excluded = set(gpu.get("excludedTypes") or [])
    return [t for p in gpu["pools"] for t in members.get(p, []) if t not in excluded]


def endpoint_out(
    backend: Backend, account: str, ep: Record, tpl: Record, query: dict[str, str]
) -> dict[str, Any]:
    """An endpoint record as v1's `Endpoint`."""
    view: dict[str, Any] = {
        "id": ep["id"],
        "name": ep["name"],
        "userId": f"user_{account}",
        "templateId": tpl["id"],
        "version": ep["version"],
        "createdAt": ep["createdAt"],
        "dataCenterIds": [d for d in ep["dataCenterIds"] if d in DATACENTER_IDS],
        "networkVolumeIds": ep["networkVolumes"],
        "workersMin": ep["workers"]["min"],
        "workersMax": ep["workers"]["max"],
        "idleTimeout": ep["workers"]["idleTimeout"],
        "scalerType": ep["scaling"]["type"],
        "scalerValue": max(1, round(ep["scaling"]["value"])),
        "executionTimeoutMs": ep["timeout"],
        "env": tpl["env"],
    }
    if ep["networkVolumes"]:
        view["networkVolumeId"] = ep["networkVolumes"][0]
    view.update(_compute_out(backend, ep))
    if query.get("includeTemplate", "").lower() == "true":
        view["template"] = template_out(tpl)
    if query.get("includeWorkers", "").lower() == "true":
        view["workers"] = []
    return view


def _compute_out(backend: Backend, ep: Record) -> dict[str, Any]:
    """v1's compute fields: GPU types from the pools, or CPU instance ids."""
    gpu = ep.get("gpu")
    if gpu is None:
        memory = backend.catalog.cpu_memory_gb
        return {
            "computeType": "CPU",
            "instanceIds": [
                f"{c['id']}-{c['vcpuCount']}-{memory(c['id'], c['vcpuCount'])}" for c in ep["cpu"]
            ],
        }
    view = {
        "computeType": "GPU",
        "gpuTypeIds": gpu_types_of(backend, gpu),
        "gpuCount": gpu.get("count", 1),
        "allowedCudaVersions": [
            v for v in gpu.get("allowedCudaVersions", []) if v in CUDA_VERSIONS
        ],
    }
    if gpu.get("minCudaVersion") in CUDA_VERSIONS:
        view["minCudaVersion"] = gpu["minCudaVersion"]
    return view


def volume_out(vol: Record) -> dict[str, Any]:
    return {
        "id": vol["id"],
        "name": vol["name"],
        "size": vol["size"],
        "dataCenterId": vol["dataCenter"],
    }
