"""`podkit plan`'s look at the models on the volume: a `sync_models` dry run.

On the project's endpoint when it exists (a short `/runsync` + polling, bounded by a timeout),
or here against `--local DIR` as `podkit models sync --local` does. Only listing requests are
made; nothing is written to the volume. A check that cannot run is reported, never fatal:
`plan` is about infrastructure, and its exit code stays so.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import Any

from podkit.cli._jobs_common import interactive, jobs_client
from podkit.cli._models_remote import sync_on_endpoint
from podkit.config import Deployment
from podkit.config.models import ModelSource
from podkit.deploy.models_view import ModelsCheck, from_dry_run, not_checked
from podkit.deploy.plan import Plan
from podkit.errors import JobWaitTimeout, PodkitError
from podkit.runpod.jobs import JobsClient

DEFAULT_TIMEOUT_S = 120.0


def check_models(
    deployment: Deployment,
    plan: Plan,
    *,
    target: str | None,
    local: Path | None = None,
    skip: bool = False,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> ModelsCheck | None:
    """What the volume holds of `deployment.models` (None when podkit.toml declares none)."""
    models = deployment.models
    if not models:
        return None
    declared = len(models)
    if skip:
        return not_checked(declared, "skipped", "--no-models")
    if local is not None:
        return _check_local(models, local)
    endpoint_id = endpoint_of(plan)
    if endpoint_id is None:
        return not_checked(declared, "after_apply", "the endpoint does not exist yet")
    if volume_changes(plan):
        return not_checked(declared, "after_apply", "this apply changes the endpoint's volume")
    return _check_remote(models, endpoint_id, target, timeout)


def endpoint_of(plan: Plan) -> str | None:
    """The id of the existing endpoint the plan converges onto, if any."""
    found = [rid for kind, _, rid in plan.bindings if kind == "endpoint" and rid]
    return found[0] if found else None


def volume_changes(plan: Plan) -> bool:
    """Whether applying the plan gives the endpoint another network volume (or a new one)."""
    for change in plan.changes:
        kind = change.resource.kind
        if kind == "volume" and change.action == "create":
            return True
        if kind == "endpoint" and any(f.field == "volume" for f in change.changes):
            return True
    return False


def _check_local(models: list[ModelSource], volume: Path) -> ModelsCheck:
    where = f"local {volume}"
    try:
        from podkit.worker.transfer import plan_models
    except ImportError as exc:  # the engine's libraries come with the worker extra
        reason = f"{exc.name or 'the sync engine'} is not installed; install podkit[worker]"
        return not_checked(len(models), "unavailable", reason, where)
    try:
        return from_dry_run(plan_models(models, volume), where, len(models))
    except PodkitError as exc:
        return not_checked(len(models), "unavailable", exc.message, where)


def _check_remote(
    models: list[ModelSource], endpoint_id: str, target: str | None, timeout: float
) -> ModelsCheck:
    where = f"endpoint {endpoint_id}"
    job_input: dict[str, Any] = {
        "models": [m.model_dump(exclude_none=True) for m in models],
        "dry_run": True,
    }
    with jobs_client(endpoint_id, target) as client:
        try:
            output = sync_on_endpoint(
                job_input, client=client, target=target, on_progress=lambda _: None,
                interactive=interactive(), timeout=timeout,
            )  # fmt: skip
        except JobWaitTimeout as exc:
            # Only a listing: cancel it rather than leave a worker starting up for nothing.
            _cancel_quietly(client, exc.job_id)
            reason = (
                f"the dry run did not finish within {timeout:g}s (cancelled); raise "
                "--models-timeout or run `podkit models sync --dry-run`"
            )
            return not_checked(len(models), "unavailable", reason, where)
        except PodkitError as exc:
            # The hint says what to do (e.g. how a worker of one's own gets `sync_models`).
            reason = f"{exc.message}; {exc.hint}" if exc.hint else exc.message
            return not_checked(len(models), "unavailable", reason, where)
    return from_dry_run(output.get("entries", []), where, len(models))


def _cancel_quietly(client: JobsClient, job_id: str) -> None:
    with suppress(PodkitError):  # the job lists only and ends by itself; the plan goes on
        client.cancel(job_id)
