"""The deploy stages wired together, for the CLI, the demo and the tests.

`prepare` runs load -> preflight -> read remote -> plan (reads only); `apply_prepared`
executes, verifies and records; `rollback` and `destroy` reuse the same planner/executor.
`post_apply` is the hook for work after a successful apply (smoke tests, waiting for the
rollout): it receives the `Applied` outcome and may raise a PodkitError to fail the apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from podkit.config import Deployment
from podkit.config.local import LocalWorker
from podkit.deploy import planner
from podkit.deploy.desired import build_desired, complete, scope_of
from podkit.deploy.executor import ApplyResult, Executor, Progress, silent
from podkit.deploy.history import History, Record
from podkit.deploy.local_worker import set_local_worker
from podkit.deploy.model import DesiredState, Scope, Snapshot
from podkit.deploy.plan import Plan
from podkit.deploy.preflight import Inputs, Report, run_preflight
from podkit.deploy.sensitive import Fingerprinter, restore
from podkit.deploy.snapshot import owned_templates, read_snapshot
from podkit.errors import DeployError
from podkit.runpod import RunPodClient, RunPodV2
from podkit.runpod.types.v2 import GpuType


@dataclass(frozen=True)
class Options:
    image: str | None = None
    require_digest: bool = False
    worker_quota: int | None = None
    keep: frozenset[str] = frozenset()  # ids kept among duplicates (`--keep`)


@dataclass(frozen=True)
class Prepared:
    """Everything `plan` computed; `apply` executes exactly this plan."""

    deployment: Deployment | None
    desired: DesiredState
    snapshot: Snapshot
    report: Report
    plan: Plan


@dataclass(frozen=True)
class Applied:
    """The outcome handed to `post_apply` hooks."""

    client: RunPodClient
    plan: Plan
    result: ApplyResult
    record: Record | None

    @property
    def endpoint_id(self) -> str | None:
        return self.result.id_of("endpoint")


PostApply = Callable[[Applied], None]


def prices_of(catalog: Sequence[GpuType]) -> dict[str, float]:
    """Per-GPU serverless USD/hour by type id and by pool id."""
    prices: dict[str, float] = {}
    for gpu in catalog:
        if gpu.price.serverless is None:
            continue
        prices[gpu.id] = gpu.price.serverless
        if gpu.pool:
            prices[gpu.pool] = max(prices.get(gpu.pool, 0.0), gpu.price.serverless)
    return prices


def prepare(client: RunPodClient, deployment: Deployment, options: Options = Options()) -> Prepared:
    """Preflight and plan with reads only; raises PreflightError before any write."""
    catalog = client.catalog.gpus(count=deployment.endpoint.gpu_count)
    desired = build_desired(
        deployment,
        api=client.api,
        catalog=catalog,
        image=options.image,
        fingerprint=fingerprinter(client, deployment.project),
    )
    snapshot = read_snapshot(
        client, desired.scope, registries=bool(deployment.worker.registry_auth)
    )
    report = run_preflight(
        Inputs(
            deployment=deployment,
            desired=desired,
            snapshot=snapshot,
            catalog=catalog,
            worker_quota=options.worker_quota,
            require_digest=options.require_digest,
        )
    )
    report.raise_if_failed()
    plan = planner.plan(
        desired,
        snapshot,
        prices=prices_of(catalog),
        notes=tuple(report.warnings),
        keep=options.keep,
    )
    return Prepared(deployment, desired, snapshot, report, plan)


def apply_prepared(
    client: RunPodClient,
    prepared: Prepared,
    history: History,
    *,
    source: str = "apply",
    progress: Progress = silent,
    post_apply: PostApply | None = None,
    local_worker: LocalWorker | None = None,
) -> Applied:
    """Execute the plan, verify every write, record the applied state, point a local
    RunPod's workers at `local_worker` (`[local] worker_command`), run the hook."""
    result = Executor(client, progress=progress).apply(prepared.plan, prepared.snapshot)
    record = None
    endpoint_id = result.id_of("endpoint")
    fingerprint = fingerprinter(client, history.scope.project)
    # With no changes the deployment already is `desired`; an interrupted earlier run may
    # still have left the history behind it, and this run catches the history up.
    if prepared.plan.has_changes or history.behind(prepared.desired, endpoint_id, fingerprint):
        record = history.append(
            prepared.desired, source=source, endpoint_id=endpoint_id, fingerprint=fingerprint
        )
    if endpoint_id is not None:
        set_local_worker(client, endpoint_id, local_worker, progress=progress)
    applied = Applied(client, prepared.plan, result, record)
    if post_apply is not None:
        post_apply(applied)
    return applied


def prepare_rollback(
    client: RunPodClient,
    history: History,
    to: int | None,
    current_env: Mapping[str, str] | None = None,
) -> Prepared:
    """Plan re-applying a recorded desired state (the image digest it ran).

    Inline secrets were recorded as fingerprints: each takes the value `current_env` (the
    current podkit.toml's `worker.env`) holds when its fingerprint matches; else it stops.
    """
    record = history.target(to)
    if record.api != client.api:
        raise DeployError(
            f"history record #{record.number} was applied with REST {record.api}",
            hint=f"run rollback with --api {record.api}",
        )
    fingerprint = fingerprinter(client, history.scope.project)
    desired = restore(complete(record.desired), current_env or {}, fingerprint, record.number)
    snapshot = read_snapshot(client, history.scope, registries=_uses_registry(desired))
    plan = planner.plan(desired, snapshot, notes=(f"rollback to #{record.number}",))
    return Prepared(None, desired, snapshot, Report(), plan)


def fingerprinter(client: RunPodClient, project: str) -> Fingerprinter:
    """The key for inline secrets' fingerprints (see `podkit.deploy.sensitive`)."""
    return Fingerprinter.for_project(client.key.reveal(), project)


def _uses_registry(desired: DesiredState) -> bool:
    return any(r.fields.get("registry") for r in desired.resources)


def prepare_destroy(client: RunPodClient, scope: Scope, *, volumes: bool) -> tuple[Plan, Snapshot]:
    snapshot = read_snapshot(client, scope)
    if isinstance(client, RunPodV2):  # podkit-owned templates, whichever generation made them
        extra = owned_templates(client, scope)
        snapshot = Snapshot(snapshot.resources + tuple(extra), snapshot.registries)
    return planner.plan_destroy(scope, client.api, snapshot, volumes=volumes), snapshot


def destroy(
    client: RunPodClient, plan: Plan, snapshot: Snapshot, *, progress: Progress = silent
) -> ApplyResult:
    return Executor(client, progress=progress).apply(plan, snapshot)


def scope_for(deployment: Deployment) -> Scope:
    return scope_of(deployment)


def owned_endpoints(snapshot: Snapshot, scope: Scope) -> Mapping[str, str]:
    return {r.name: r.id or "" for r in snapshot.owned(scope) if r.kind == "endpoint"}


def deployed_endpoint_id(client: RunPodClient, deployment: Deployment) -> str | None:
    """The id of the endpoint podkit deployed for this project and environment, if any.

    For commands that act on "this project's endpoint" (jobs, smoke tests, logs).
    """
    scope = scope_of(deployment)
    snapshot = read_snapshot(client, scope)
    found = [
        r
        for r in snapshot.owned(scope)
        if r.kind == "endpoint" and r.name == deployment.endpoint_name
    ]
    return found[0].id if found else None
