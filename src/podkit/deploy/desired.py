"""podkit.toml (a `Deployment`) -> the desired volume, template (v1) and endpoint.

Names and ownership:
- the endpoint keeps its configured name and carries `PODKIT_OWNER=<project>/<env>` in its
  env (v2: on the endpoint; v1: on its template);
- the network volume is named `pk-<project>-<env>-<volume.name>` (volumes carry no env, so
  the name is the marker), one volume per environment;
- v1 templates are content-addressed: `pk-<project>-<env>-tpl-<hash of the container>`, so
  re-applying the same config creates nothing and a changed one never clashes with a name.

GPU choice: v2 selects pools minus excluded types; v1 lists type ids in preference order.
The catalog maps one onto the other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from podkit.config import Deployment, load_balancer
from podkit.config.schema import SECRET_REF_RE
from podkit.deploy.model import OWNER_ENV, DesiredState, Resource, Scope, flatten_env
from podkit.deploy.sensitive import Fingerprinter, fingerprinted, throwaway
from podkit.errors import ConfigError
from podkit.runpod.types.v2 import GpuType
from podkit.secret_shapes import is_inline_secret

DEFAULT_ENV_LABEL = "default"


def scope_of(deployment: Deployment) -> Scope:
    return Scope(deployment.project, deployment.environment or DEFAULT_ENV_LABEL)


def image_of(deployment: Deployment, override: str | None = None) -> str:
    image = override or deployment.image.ref
    if not image:
        raise ConfigError(
            f"image.ref is not set and no --image was given (repository "
            f"{deployment.image.repository!r} is built by CI)",
            hint="pass --image REPO@sha256:<digest> from the build step, or set image.ref",
        )
    return image


def _env(deployment: Deployment, scope: Scope) -> tuple[dict[str, str], frozenset[str]]:
    """The endpoint's env and the fields to mask: references and inline secrets."""
    env = deployment.worker.rendered_env() | load_balancer.lb_env(deployment)
    env[OWNER_ENV] = scope.owner
    secret = set(deployment.worker.secrets) | {k for k, v in env.items() if SECRET_REF_RE.match(v)}
    secret |= {k for k, v in env.items() if is_inline_secret(k, v)}
    return env, frozenset(f"env.{k}" for k in secret)


def pools_for(deployment: Deployment, catalog: Sequence[GpuType]) -> tuple[list[str], list[str]]:
    """(pools, excluded types): listed pools whole, plus each listed type's pool minus its
    other members (unknown types are left to preflight to report)."""
    ep = deployment.endpoint
    pools = list(dict.fromkeys(ep.gpu_pools))
    by_id = {g.id: g for g in catalog}
    typed_pools = [by_id[t].pool for t in ep.gpu_types if t in by_id and by_id[t].pool]
    excluded: set[str] = set()
    for pool in dict.fromkeys(p for p in typed_pools if p):
        if pool in pools:
            continue
        pools.append(pool)
        members = {g.id for g in catalog if g.pool == pool}
        excluded |= members - set(ep.gpu_types)
    return pools, sorted(excluded)


def types_for(deployment: Deployment, catalog: Sequence[GpuType]) -> list[str]:
    """v1's GPU type ids in preference order: listed types, then each listed pool's types."""
    ep = deployment.endpoint
    from_pools = [g.id for pool in ep.gpu_pools for g in catalog if g.pool == pool]
    return list(dict.fromkeys([*ep.gpu_types, *from_pools]))


def _scaling(deployment: Deployment) -> dict[str, Any]:
    scaler = deployment.endpoint.scaler
    if scaler.type == "queue_delay":
        return {"scaler.type": "QUEUE_DELAY", "scaler.value": float(scaler.value)}
    return {"scaler.type": "REQUEST_COUNT", "scaler.value": int(scaler.value)}


def _common_endpoint(deployment: Deployment, volume: Resource | None) -> dict[str, Any]:
    ep = deployment.endpoint
    fields: dict[str, Any] = {
        "gpu.count": ep.gpu_count,
        "cuda.allowed": sorted(ep.cuda_versions),
        "workers.min": ep.workers_min,
        "workers.max": ep.workers_max,
        **_scaling(deployment),
        "timeout_ms": round(ep.execution_timeout * 1000),
        "volume": volume.name if volume else None,
    }
    # The API rejects (and omits) an idle timeout for queue endpoints scaling on requests.
    if not (ep.type == "queue" and ep.scaler.type == "request_count"):
        fields["workers.idle_timeout"] = round(ep.idle_timeout)
    return fields


def _container(deployment: Deployment, image: str, env: dict[str, str]) -> dict[str, Any]:
    worker = deployment.worker
    fields: dict[str, Any] = {"image": image, "disk_gb": worker.container_disk_gb}
    fields["registry"] = worker.registry_auth
    if worker.args:
        fields["args"] = worker.args
    ports = load_balancer.exposed_ports(deployment)
    if ports:
        fields["ports"] = ports
    fields.update(flatten_env(env))
    return fields


def content_hash(fields: dict[str, Any], fingerprint: Fingerprinter | None = None) -> str:
    """A short hash of a container: inline secrets enter it only as keyed fingerprints, so
    the name that carries it cannot be used to guess them."""
    blob = json.dumps(
        fingerprinted(fields, fingerprint or throwaway()), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:10]


def build_desired(
    deployment: Deployment,
    *,
    api: str,
    catalog: Sequence[GpuType],
    image: str | None = None,
    fingerprint: Fingerprinter | None = None,
) -> DesiredState:
    """The desired objects for one API generation (v2: volume + endpoint; v1: + template).

    `fingerprint` keys the v1 template name's hash over inline secrets (`deploy.sensitive`);
    without it, a container with inline secrets gets a name that changes on every call.
    """
    scope = scope_of(deployment)
    image_ref = image_of(deployment, image)
    env, secret = _env(deployment, scope)
    volume = _volume(deployment, scope)
    container = _container(deployment, image_ref, env)
    common = _common_endpoint(deployment, volume)
    resources: list[Resource] = [volume] if volume else []
    if api == "v1":
        template = Resource(
            "template", scope.name(f"tpl-{content_hash(container, fingerprint)}"), container, secret
        )
        resources += [template, _v1_endpoint(deployment, catalog, common, template)]
    else:
        resources.append(_v2_endpoint(deployment, catalog, common | container, secret))
    return DesiredState(scope, api, image_ref, tuple(resources))


def _v1_endpoint(
    deployment: Deployment, catalog: Sequence[GpuType], fields: dict[str, Any], template: Resource
) -> Resource:
    """v1: the endpoint runs the template; GPU type ids; flashboot cannot be read back."""
    ep = deployment.endpoint
    fields = fields | {
        "template": template.name,
        "gpu.types": types_for(deployment, catalog),
        # `[]`: none chosen, which v1 stores as every data center (read back as `[]` too)
        "data_centers": sorted(ep.datacenters),
        "flashboot": ep.flashboot,
    }
    return Resource(
        "endpoint", deployment.endpoint_name, fields, write_only=frozenset({"flashboot"})
    )


def _v2_endpoint(
    deployment: Deployment,
    catalog: Sequence[GpuType],
    fields: dict[str, Any],
    secret: frozenset[str],
) -> Resource:
    """v2: the endpoint carries its container; pools minus excluded types. `args` and `ports`
    are always set (`""`, `[]`: none), so removing them from podkit.toml removes them from
    the endpoint."""
    ep = deployment.endpoint
    pools, excluded = pools_for(deployment, catalog)
    fields = fields | {
        "args": deployment.worker.args or "",
        "ports": fields.get("ports", []),
        "type": "QUEUE" if ep.type == "queue" else "LOAD_BALANCER",
        "gpu.pools": pools,
        "gpu.excluded": excluded,
        "flashboot": ep.flashboot,
        "data_centers": sorted(ep.datacenters),
    }
    return Resource("endpoint", deployment.endpoint_name, fields, secret)


def complete(desired: DesiredState) -> DesiredState:
    """A recorded desired state with the endpoint fields that older records left out when
    unset (v2 `args` and `ports`, v1 `data_centers`) set to their empty value, so a rollback
    to such a record removes them from the endpoint instead of leaving whatever is there."""
    defaults: dict[str, Any] = (
        {"args": "", "ports": []} if desired.api == "v2" else {"data_centers": []}
    )
    resources = tuple(
        replace(r, fields=defaults | dict(r.fields)) if r.kind == "endpoint" else r
        for r in desired.resources
    )
    return replace(desired, resources=resources)


def _volume(deployment: Deployment, scope: Scope) -> Resource | None:
    vol = deployment.volume
    if vol is None:
        return None
    fields = {"size_gb": vol.size_gb, "data_center": vol.datacenter}
    return Resource("volume", scope.name(vol.name), fields)
