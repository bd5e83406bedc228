"""Preflight: the checks that need account data, before any write. Each failure says what
to change.

Everything that needs no account data (ranges, digests, names against podkit's catalog
snapshot) was checked when podkit.toml was loaded. Here the live catalog is the judge: where it
disagrees with the snapshot it wins, and the plan notes the difference. Inputs are data (the
config, the desired state, the snapshot, the GPU catalog), so the checks are pure; the caller
fetched them with reads only. Errors stop the deploy with zero writes; warnings are shown with
the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from podkit.config import Deployment
from podkit.config.catalog import drift
from podkit.deploy.model import DesiredState, Snapshot
from podkit.errors import PreflightError
from podkit.runpod.types.v2 import GpuType

DEFAULT_WORKER_QUOTA = 5  # RunPod's default; more with account balance (5..60)


@dataclass
class Report:
    """Preflight findings: errors block the deploy, warnings are shown."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def raise_if_failed(self) -> None:
        if self.errors:
            lines = "\n".join(f"  - {e}" for e in self.errors)
            raise PreflightError(
                f"preflight failed ({len(self.errors)} problem(s)); nothing was changed:\n{lines}",
                hint="fix the podkit.toml keys named above and run `podkit plan` again",
            )


@dataclass(frozen=True)
class Inputs:
    deployment: Deployment
    desired: DesiredState
    snapshot: Snapshot
    catalog: Sequence[GpuType]
    worker_quota: int | None = None
    require_digest: bool = False


def run_preflight(inputs: Inputs) -> Report:
    """Every check, in a fixed order; never raises (see `Report.raise_if_failed`)."""
    report = Report()
    for check in (_image, _routing, _quota, _gpus, _registry):
        check(inputs, report)
    report.warnings.extend(drift({gpu.id: gpu.pool for gpu in inputs.catalog}))
    if inputs.deployment.worker.secrets:
        report.warnings.append(
            "RunPod secrets ("
            + ", ".join(sorted(inputs.deployment.worker.secrets.values()))
            + ") cannot be listed through the API; make sure they exist in the console"
        )
    return report


def _image(inputs: Inputs, report: Report) -> None:
    image = inputs.desired.image
    if "@sha256:" in image:
        return
    message = f"image {image!r} is not pinned by digest: a re-pushed tag silently changes what runs"
    if inputs.require_digest:
        report.errors.append(f"{message}; pass --image REPO@sha256:<digest> from the build step")
    else:
        report.warnings.append(f"{message} (use --require-digest in CI to make this an error)")


def _routing(inputs: Inputs, report: Report) -> None:
    ep = inputs.deployment.endpoint
    if ep.type == "load_balancer" and inputs.desired.api == "v1":
        report.errors.append(
            'endpoint.type = "load_balancer" cannot be created through REST v1; use --api v2'
        )
    worker = inputs.deployment.worker
    if ep.type == "load_balancer" and not (worker.ports or worker.port or "PORT" in worker.env):
        report.warnings.append(
            "worker.port is not set: the load balancer expects the worker's HTTP server on "
            "port 80 (set worker.port, e.g. 8000, to the port your server listens on)"
        )
    if ep.type == "queue" and inputs.deployment.worker.ports:
        report.warnings.append("worker.ports is set but a queue endpoint does not expose ports")
    value = ep.scaler.value
    if inputs.desired.api == "v1" and value != int(value):
        report.errors.append(
            f"endpoint.scaler.value = {value:g}: REST v1 takes whole seconds; use a whole "
            "number or --api v2"
        )


def _quota(inputs: Inputs, report: Report) -> None:
    quota = DEFAULT_WORKER_QUOTA if inputs.worker_quota is None else inputs.worker_quota
    endpoint = inputs.desired.get("endpoint")
    if endpoint is None:
        return
    others = [
        r
        for r in inputs.snapshot.of_kind("endpoint")
        if not (r.name == endpoint.name and r.owner == inputs.desired.scope.owner)
    ]
    used = sum(int(r.fields.get("workers.max") or 0) for r in others)
    wanted = int(endpoint.fields.get("workers.max") or 0)
    if used + wanted > quota:
        report.errors.append(
            f"worker quota: other endpoints hold {used} of {quota} workers and "
            f"endpoint.workers_max asks for {wanted}; lower workers_max to {max(quota - used, 0)}"
            " or below, free workers elsewhere, or raise the quota (--worker-quota / "
            "PODKIT_WORKER_QUOTA if your account has more)"
        )


def _candidates(inputs: Inputs, report: Report) -> list[GpuType]:
    ep = inputs.deployment.endpoint
    by_id = {g.id: g for g in inputs.catalog}
    pools = {g.pool for g in inputs.catalog if g.pool}
    for gpu in ep.gpu_types:
        if gpu not in by_id:
            report.errors.append(
                f"endpoint.gpu_types: the live catalog has no GPU type {gpu!r} (podkit's copy "
                "of the catalog still lists it); pick another type or a pool"
            )
        elif by_id[gpu].pool is None:
            report.errors.append(
                f"endpoint.gpu_types: {gpu!r} is not offered for serverless (no pool)"
            )
    for pool in ep.gpu_pools:
        if pool not in pools:
            report.errors.append(
                f"endpoint.gpu_pools: the live catalog has no pool {pool!r} (known now: "
                f"{sorted(pools)}); pick one of those"
            )
    wanted = set(ep.gpu_types)
    return [g for g in inputs.catalog if g.id in wanted or (g.pool and g.pool in ep.gpu_pools)]


def _gpus(inputs: Inputs, report: Report) -> None:
    candidates = _candidates(inputs, report)
    if not candidates:
        return
    ep, vol = inputs.deployment.endpoint, inputs.deployment.volume
    _cuda(inputs, candidates, report)
    available = [g for g in candidates if g.availability != "NONE"]
    if not available:
        report.errors.append(
            "no GPU of endpoint.gpu_types/gpu_pools has serverless capacity right now; add "
            "more types or pools (e.g. a second pool) to give the scheduler room"
        )
        return
    allowed = set(ep.datacenters)
    if vol is not None:
        allowed = allowed & {vol.datacenter} if allowed else {vol.datacenter}
    if allowed and not any(
        dc.id in allowed and dc.availability != "NONE" for g in available for dc in g.data_centers
    ):
        where = sorted(allowed)
        report.errors.append(
            f"none of the chosen GPUs is available in {where} (the volume's datacenter and "
            "endpoint.datacenters); pick GPUs offered there or a volume in another datacenter"
        )


def _cuda(inputs: Inputs, candidates: list[GpuType], report: Report) -> None:
    wanted = inputs.deployment.endpoint.cuda_versions
    offered = {c.version for g in candidates for c in g.cuda_versions}
    if not wanted or not offered:
        return
    missing = sorted(set(wanted) - offered)
    if len(missing) == len(set(wanted)):
        report.errors.append(
            f"endpoint.cuda_versions {wanted}: none is offered on the chosen GPUs (offered: "
            f"{sorted(offered)}); allow one of those or leave the list empty"
        )


def _registry(inputs: Inputs, report: Report) -> None:
    name = inputs.deployment.worker.registry_auth
    if name is None:
        return
    known = {n for n, _ in inputs.snapshot.registries}
    if name not in known:
        report.errors.append(
            f"worker.registry_auth {name!r}: no registry credential of that name on the "
            f"account (known: {sorted(known)}); create it in the console or fix the name"
        )
