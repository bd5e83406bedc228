"""REST v1 <-> podkit's field vocabulary. v1 endpoints run a template holding the container."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from podkit.config.catalog import DATACENTERS as ALL_DATA_CENTERS
from podkit.deploy.model import OWNER_ENV, Resource, Scope, flatten_env
from podkit.deploy.plan import FieldChange
from podkit.runpod.types import v1 as t

Names = Mapping[str, str]
Ids = Mapping[tuple[str, str], str]


def volume_resource(vol: t.NetworkVolume, scope: Scope) -> Resource:
    owner = scope.owner if vol.name.startswith(scope.prefix) else None
    fields = {"size_gb": vol.size, "data_center": vol.data_center_id}
    return Resource("volume", vol.name, fields, id=vol.id, owner=owner)


def template_resource(tpl: t.Template, names: Names) -> Resource:
    fields: dict[str, Any] = {
        "image": tpl.image_name,
        "disk_gb": tpl.container_disk_in_gb,
        "registry": names.get(tpl.container_registry_auth_id, tpl.container_registry_auth_id)
        if tpl.container_registry_auth_id
        else None,
        "ports": list(tpl.ports),
        **flatten_env(tpl.env),
    }
    if tpl.docker_start_cmd:
        fields["args"] = shlex.join(tpl.docker_start_cmd)
    return Resource(
        "template", tpl.name, fields, id=tpl.id, owner=template_owner(tpl.name, tpl.env)
    )


def template_owner(name: str, env: Mapping[str, str]) -> str | None:
    """The project/env owning a template: its `PODKIT_OWNER`, and only when the name carries
    that owner's prefix (`pk-<project>-<env>-`) too, as every template podkit makes does."""
    owner = env.get(OWNER_ENV)
    if owner is None or "/" not in owner:
        return None
    project, _, environment = owner.partition("/")
    return owner if name.startswith(Scope(project, environment).prefix) else None


def endpoint_resource(ep: t.Endpoint, names: Names, owners: Mapping[str, str | None]) -> Resource:
    volumes = ep.network_volume_ids or ([ep.network_volume_id] if ep.network_volume_id else [])
    fields: dict[str, Any] = {
        "template": names.get(ep.template_id or "", ep.template_id),
        "gpu.types": list(ep.gpu_type_ids),
        "gpu.count": ep.gpu_count or 1,
        "cuda.allowed": sorted(ep.allowed_cuda_versions),
        "workers.min": ep.workers_min,
        "workers.max": ep.workers_max,
        "workers.idle_timeout": ep.idle_timeout,
        "scaler.type": ep.scaler_type,
        "scaler.value": ep.scaler_value,
        "timeout_ms": ep.execution_timeout_ms,
        "data_centers": _chosen(ep.data_center_ids),
        "volume": names.get(volumes[0], volumes[0]) if volumes else None,
    }
    refs = {"template": ep.template_id} if ep.template_id else {}
    refs |= {"volume": volumes[0]} if volumes else {}
    owner = ep.env.get(OWNER_ENV) or owners.get(ep.template_id or "")
    return Resource("endpoint", ep.name or "", fields, id=ep.id, owner=owner, refs=refs)


def _chosen(data_centers: list[str]) -> list[str]:
    """v1 stores "none chosen" as every data center: read that back as none (`[]`), as the
    v2 snapshot does, so the desired `[]` compares equal and a narrower list is drift."""
    return [] if set(ALL_DATA_CENTERS) <= set(data_centers) else sorted(data_centers)


def volume_create(r: Resource) -> t.NetworkVolumeCreate:
    return t.NetworkVolumeCreate(
        name=r.name, size=r.fields["size_gb"], data_center_id=r.fields["data_center"]
    )


def volume_update(r: Resource) -> t.NetworkVolumeUpdate:
    return t.NetworkVolumeUpdate(size=r.fields["size_gb"])


def template_create(r: Resource, ids: Ids) -> t.TemplateCreate:
    f = r.fields
    body = t.TemplateCreate(
        name=r.name,
        image_name=f["image"],
        env=r.env(),
        is_serverless=True,
        volume_in_gb=0,  # serverless templates take no pod volume; the volume is on the endpoint
        ports=list(f.get("ports") or []),  # omitted, v1 exposes a pod's Jupyter and SSH ports
    )
    if f.get("disk_gb"):
        body.container_disk_in_gb = f["disk_gb"]
    if f.get("args"):
        body.docker_start_cmd = shlex.split(f["args"])
    if f.get("registry"):
        body.container_registry_auth_id = ids[("registry", f["registry"])]
    return body


def _endpoint_fields(r: Resource, ids: Ids) -> dict[str, Any]:
    f = r.fields
    out: dict[str, Any] = {
        "name": r.name,
        "template_id": ids[("template", f["template"])],
        "gpu_type_ids": list(f["gpu.types"]),
        "gpu_count": f.get("gpu.count", 1),
        "workers_min": f["workers.min"],
        "workers_max": f["workers.max"],
        "scaler_type": f["scaler.type"],
        "scaler_value": int(f["scaler.value"]),
        "execution_timeout_ms": f["timeout_ms"],
        "network_volume_id": ids[("volume", f["volume"])] if f.get("volume") else None,
    }
    if "workers.idle_timeout" in f:
        out["idle_timeout"] = f["workers.idle_timeout"]
    if f.get("cuda.allowed"):
        out["allowed_cuda_versions"] = list(f["cuda.allowed"])
    if "data_centers" in f:  # none chosen: v1's own default, every data center
        out["data_center_ids"] = list(f["data_centers"]) or list(ALL_DATA_CENTERS)
    return {k: v for k, v in out.items() if v is not None}


def endpoint_create(r: Resource, ids: Ids) -> t.EndpointCreate:
    body = t.EndpointCreate(**_endpoint_fields(r, ids))
    if r.fields.get("flashboot") is not None:
        body.flashboot = bool(r.fields["flashboot"])
    return body


GROUP_FIELDS = {
    "template": ["template_id"],
    "gpu": ["gpu_type_ids", "gpu_count"],
    "cuda": ["allowed_cuda_versions"],
    "workers": ["workers_min", "workers_max", "idle_timeout"],
    "scaler": ["scaler_type", "scaler_value"],
    "timeout_ms": ["execution_timeout_ms"],
    "data_centers": ["data_center_ids"],
    "volume": ["network_volume_id"],
}


def endpoint_update(r: Resource, changes: tuple[FieldChange, ...], ids: Ids) -> t.EndpointUpdate:
    full = _endpoint_fields(r, ids)
    changed = {c.field.split(".")[0] for c in changes}
    picked = {
        name: full[name]
        for group in changed
        for name in GROUP_FIELDS.get(group, [])
        if name in full
    }
    return t.EndpointUpdate(**picked)
