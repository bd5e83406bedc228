"""REST v2 <-> podkit's field vocabulary: request bodies out, normalised resources in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from podkit.deploy.model import OWNER_ENV, Resource, Scope, flatten_env
from podkit.deploy.plan import FieldChange
from podkit.runpod.types import v2 as t

Names = Mapping[str, str]  # remote id -> podkit name (volumes, registries)
Ids = Mapping[tuple[str, str], str]  # (kind, name) -> remote id


def volume_resource(vol: t.NetworkVolume, scope: Scope) -> Resource:
    owner = scope.owner if vol.name.startswith(scope.prefix) else None
    fields = {"size_gb": vol.size, "data_center": vol.data_center}
    return Resource("volume", vol.name, fields, id=vol.id, owner=owner)


def endpoint_resource(ep: t.Endpoint, names: Names) -> Resource:
    fields: dict[str, Any] = {
        "type": ep.type,
        "image": ep.image,
        "disk_gb": ep.disk,
        "registry": names.get(ep.registry, ep.registry) if ep.registry else None,
        "workers.min": ep.workers.min,
        "workers.max": ep.workers.max,
        "scaler.type": ep.scaling.type,
        "scaler.value": _scaler_value(ep.scaling),
        "timeout_ms": ep.timeout,
        "args": ep.args or "",
        "ports": list(ep.ports or []),
        "flashboot": ep.flashboot != "OFF",
        "data_centers": sorted(ep.data_center_ids),
        "volume": names.get(ep.network_volumes[0], ep.network_volumes[0])
        if ep.network_volumes
        else None,
        **flatten_env(ep.env),
    }
    if ep.workers.idle_timeout is not None:
        fields["workers.idle_timeout"] = ep.workers.idle_timeout
    if ep.gpu is not None:
        fields["gpu.excluded"] = sorted(ep.gpu.excluded_types)
        fields["gpu.pools"] = list(ep.gpu.pools)
        fields["gpu.count"] = ep.gpu.count
        fields["cuda.allowed"] = sorted(ep.gpu.allowed_cuda_versions)
    refs = {"volume": ep.network_volumes[0]} if ep.network_volumes else {}
    owner = ep.env.get(OWNER_ENV)
    return Resource("endpoint", ep.name, fields, id=ep.id, owner=owner, refs=refs)


def _scaler_value(scaling: t.ScalingSetting) -> float | int | None:
    if scaling.type == "QUEUE_DELAY":
        return scaling.queue_delay
    return scaling.request_count


def _scaling(fields: Mapping[str, Any]) -> t.QueueDelayScaling | t.RequestCountScaling:
    if fields["scaler.type"] == "QUEUE_DELAY":
        return t.QueueDelayScaling(queue_delay=float(fields["scaler.value"]))
    return t.RequestCountScaling(request_count=int(fields["scaler.value"]))


def _workers(fields: Mapping[str, Any]) -> t.EndpointWorkers:
    workers = t.EndpointWorkers(min=fields["workers.min"], max=fields["workers.max"])
    if "workers.idle_timeout" in fields:
        workers.idle_timeout = fields["workers.idle_timeout"]
    return workers


def volume_create(r: Resource) -> t.NetworkVolumeCreate:
    return t.NetworkVolumeCreate(
        name=r.name, size=r.fields["size_gb"], data_center=r.fields["data_center"]
    )


def volume_update(r: Resource) -> t.NetworkVolumeUpdate:
    return t.NetworkVolumeUpdate(size=r.fields["size_gb"])


def endpoint_create(r: Resource, ids: Ids) -> t.EndpointCreate:
    f = r.fields
    body = t.EndpointCreate(
        name=r.name,
        type=f["type"],
        scaling=_scaling(f),
        image=f["image"],
        env=r.env(),
        workers=_workers(f),
        data_center_ids=list(f.get("data_centers") or []),
        network_volumes=[ids[("volume", f["volume"])]] if f.get("volume") else [],
        timeout=f["timeout_ms"],
        flashboot="FLASHBOOT" if f.get("flashboot") else "OFF",
        gpu=t.EndpointGpuCreate(
            pools=list(f["gpu.pools"]),
            count=f.get("gpu.count", 1),
            allowed_cuda_versions=list(f.get("cuda.allowed") or []),
        ),
    )
    if f.get("gpu.excluded") and body.gpu is not None:
        body.gpu.excluded_types = list(f["gpu.excluded"])
    if f.get("args"):
        body.args = f["args"]
    if f.get("ports"):
        body.ports = list(f["ports"])
    if f.get("disk_gb"):
        body.disk = f["disk_gb"]
    if f.get("registry"):
        body.registry = ids[("registry", f["registry"])]
    return body


def endpoint_update(r: Resource, changes: tuple[FieldChange, ...], ids: Ids) -> t.EndpointUpdate:
    """A PATCH with only the changed groups (maps and arrays are replaced whole)."""
    changed = {c.field.split(".")[0] for c in changes}
    f = r.fields
    full = endpoint_create(r, ids)
    body = t.EndpointUpdate()
    simple = {
        "image": "image", "disk_gb": "disk",
        "registry": "registry", "timeout_ms": "timeout",
        "flashboot": "flashboot", "data_centers": "data_center_ids",
        "volume": "network_volumes", "env": "env", "workers": "workers", "scaler": "scaling",
    }  # fmt: skip
    for group, attr in simple.items():
        if group in changed:
            setattr(body, attr, getattr(full, attr))
    # Not from `full`: a create omits none, a PATCH must send the empty value to remove one.
    if "args" in changed:
        body.args = f.get("args") or ""
    if "ports" in changed:
        body.ports = list(f.get("ports") or [])
    if changed & {"gpu", "cuda"} and full.gpu is not None:
        gpu = full.gpu
        # Pools and exclusions travel together; CUDA set and floor must not both be set.
        body.gpu = t.EndpointGpuUpdate(
            pools=gpu.pools,
            excluded_types=gpu.excluded_types or [],
            count=gpu.count,
            allowed_cuda_versions=gpu.allowed_cuda_versions,
        )
    return body
