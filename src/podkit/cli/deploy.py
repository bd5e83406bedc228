"""`podkit plan | apply | rollback | destroy | status`: thin commands over podkit.deploy.

Exit codes: 0 success (for `plan`: no changes), 2 `plan` found changes, 1 a PodkitError or a
usage error (see podkit.cli.exit_codes).
Models missing or stale on the volume (the "models on the volume" part of `plan`) never
change them: `plan` speaks of infrastructure; `podkit models sync` fetches models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from podkit.cli._jobs_common import parse_duration, project_history
from podkit.cli._plan_models import DEFAULT_TIMEOUT_S, check_models
from podkit.cli.app import app
from podkit.cli.console import confirm, console, err_console, print_json
from podkit.cli.lock import LOCK_TIMEOUT, deploy_lock
from podkit.cli.options import API, CONFIG, ENV, TARGET, duration, local_dir
from podkit.cli.release_gate import release_gate
from podkit.config import Deployment, load_config
from podkit.config.cli_values import check_image
from podkit.config.cli_values import require_digest as check_digest
from podkit.config.local import local_worker
from podkit.deploy import service
from podkit.deploy.history import History, Record
from podkit.deploy.models_view import ModelsCheck, models_markdown, models_table, models_to_dict
from podkit.deploy.plan import Plan
from podkit.deploy.preflight import DEFAULT_WORKER_QUOTA
from podkit.deploy.render import plan_markdown, plan_table, plan_to_dict
from podkit.deploy.status import read_status, render_status
from podkit.errors import DeployError, Interrupted
from podkit.redact import append_file
from podkit.runpod import RunPodClient, connect

SET = typer.Option([], "--set", help="Override a key: KEY=VALUE (repeatable).")


def _whole_quota(value: int | None) -> int | None:
    if value is not None and value < 0:
        raise typer.BadParameter(f"{value} is below 0: give the account's worker quota")
    return value


QUOTA = typer.Option(
    None,
    "--worker-quota",
    envvar="PODKIT_WORKER_QUOTA",
    callback=_whole_quota,
    help=f"The account's worker quota (default: {DEFAULT_WORKER_QUOTA}, RunPod's own default).",
)
JSON = typer.Option(False, "--json", help="Machine-readable output on stdout.")
YES = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (CI).")
KEEP = typer.Option(
    [], "--keep", help="Of duplicates of one owned object, keep this id; delete the others."
)


def _load(
    config: Path,
    env: str | None,
    sets: list[str],
    *,
    image: str | None = None,
    require_digest: bool = False,
) -> Deployment:
    """The validated deployment; every value from the file and the command line is checked
    here, before any request."""
    check_image(image)
    loaded = load_config(config, env=env, overrides=sets)
    if require_digest:
        check_digest(loaded.deployment, image)
    for warning in loaded.warnings:
        err_console.print(f"[yellow]warning:[/] {escape(warning)}")
    return loaded.deployment


def _client(api: str, target: str | None) -> RunPodClient:
    return connect("v2" if api == "v2" else "v1", target=target)


def _progress(message: str) -> None:
    err_console.print(f"  [dim]{escape(message)}[/]")


def _show(
    plan: Plan, as_json: bool, markdown: Path | None, models: ModelsCheck | None = None
) -> None:
    if markdown is not None:
        append_file(
            markdown, plan_markdown(plan) + (models_markdown(models) if models is not None else "")
        )
    if as_json:
        print_json({**plan_to_dict(plan), "models": models_to_dict(models)})
        return
    console.print(plan_table(plan))
    if models is not None:
        console.print(models_table(models))


class _WriteSteps:
    """Shows the writes as they start; after Ctrl-C among them, says where it stopped and
    that no history record was written (past the writes, the release gate says its part)."""

    def __init__(self, command: str, env: str | None) -> None:
        self.command = command
        self.env = env
        self.started: list[str] = []
        self.finished = False

    def progress(self, message: str) -> None:
        if not self.finished:
            self.started.append(message)
        _progress(message)

    def then(self, hook: service.PostApply | None) -> service.PostApply:
        def after(applied: service.Applied) -> None:
            self.finished = True
            if hook is not None:
                hook(applied)

        return after

    def __enter__(self) -> _WriteSteps:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not KeyboardInterrupt or self.finished:
            return
        self._say_where_it_stopped()
        raise Interrupted from None

    def _say_where_it_stopped(self) -> None:
        where = f" --env {self.env}" if self.env else ""
        look = "plan" if self.command == "apply" else "status"
        if not self.started:
            err_console.print("interrupted before the first write: nothing changed")
            return
        err_console.print(
            f"interrupted during '{escape(self.started[-1])}': the writes before it stay, that "
            "one may or may not have been made, and no history record was written; "
            f"`podkit {look}{where}` shows what is left, `podkit {self.command}{where}` "
            "finishes it",
            soft_wrap=True,
        )


def _confirm(question: str, yes: bool) -> None:
    confirm(question, yes, DeployError)


@app.command()
def plan(
    config: Path = CONFIG,
    env: str | None = ENV,
    sets: list[str] = SET,
    api: str = API,
    target: str | None = TARGET,
    image: str | None = typer.Option(None, "--image", help="Deploy this image reference."),
    as_json: bool = JSON,
    markdown: Path | None = typer.Option(
        None, "--markdown", help="Append the plan as Markdown (e.g. $GITHUB_STEP_SUMMARY)."
    ),
    require_digest: bool = typer.Option(False, "--require-digest", help="Tag-only = error."),
    worker_quota: int | None = QUOTA,
    no_models: bool = typer.Option(
        False, "--no-models", help="Do not check the \\[\\[models]] on the endpoint's volume."
    ),
    local: str | None = local_dir("Check the \\[\\[models]] against DIR here (as /runpod-volume)."),
    models_timeout: str = duration(
        "2m", "--models-timeout", "Limit for the models dry run on the endpoint"
    ),
    keep: list[str] = KEEP,
) -> None:
    """Show what apply would change, and what `podkit models sync` would fetch.

    Exit 0: no changes, 2: changes, 1: error. Models on the volume do not change the code.
    """
    deployment = _load(config, env, sets, image=image, require_digest=require_digest)
    with _client(api, target) as client:
        options = service.Options(image, require_digest, worker_quota, frozenset(keep))
        prepared = service.prepare(client, deployment, options)
    models = check_models(
        deployment,
        prepared.plan,
        target=target,
        local=None if local is None else Path(local),
        skip=no_models,
        timeout=parse_duration(models_timeout, "--models-timeout") or DEFAULT_TIMEOUT_S,
    )
    _show(prepared.plan, as_json, markdown, models)
    if prepared.plan.has_changes:
        raise typer.Exit(2)


@app.command()
def apply(
    config: Path = CONFIG,
    env: str | None = ENV,
    sets: list[str] = SET,
    api: str = API,
    target: str | None = TARGET,
    image: str | None = typer.Option(None, "--image", help="Deploy this image reference."),
    yes: bool = YES,
    force: bool = typer.Option(False, "--force", help="Allow deleting endpoints or volumes."),
    as_json: bool = JSON,
    require_digest: bool = typer.Option(False, "--require-digest", help="Tag-only = error."),
    worker_quota: int | None = QUOTA,
    wait: bool = typer.Option(False, "--wait", help="Wait until the workers run the release."),
    smoke: bool = typer.Option(
        False,
        "--smoke",
        help="Then run the smoke tests of podkit.toml; roll back if one fails (waits).",
    ),
    rollout_timeout: str = duration("15m", "--rollout-timeout", "Limit for --wait"),
    keep: list[str] = KEEP,
    lock_timeout: str = LOCK_TIMEOUT,
) -> None:
    """Plan, confirm, apply, verify every write, record the deploy in history.

    With --wait, follow the new release's workers: a crash loop fails the apply at once,
    quoting the workers' last lines; with --smoke a failure rolls the release back.
    """
    deployment = _load(config, env, sets, image=image, require_digest=require_digest)
    history = project_history(config, deployment, target)
    history.check_writable()
    gate = release_gate(
        deployment,
        history,
        local_worker=local_worker(deployment.local, config),
        target=target,
        wait=wait,
        smoke=smoke,
        rollout_timeout=parse_duration(rollout_timeout, "--rollout-timeout") or 0.0,
        progress=_progress,
        as_json=as_json,
    )
    options = service.Options(image, require_digest, worker_quota, frozenset(keep))
    with (
        _client(api, target) as client,
        deploy_lock(client, deployment, env, lock_timeout).held(),
    ):
        prepared = service.prepare(client, deployment, options)
        _guard_deletes(prepared.plan, force)
        if not as_json:
            console.print(plan_table(prepared.plan))
        if prepared.plan.has_changes:
            _confirm(f"Apply {prepared.plan.summary} to {prepared.plan.scope.owner}?", yes)
        with _WriteSteps("apply", env) as steps:
            applied = service.apply_prepared(
                client,
                prepared,
                history,
                progress=steps.progress,
                post_apply=steps.then(gate),
                local_worker=local_worker(deployment.local, config),
            )
        _report_applied(applied, as_json)


def _guard_deletes(plan: Plan, force: bool) -> None:
    risky = [c for c in plan.changes if c.action == "delete" and c.resource.kind != "template"]
    if risky and not force:
        names = ", ".join(f"{c.resource.kind} {c.resource.name}" for c in risky)
        raise DeployError(
            f"the plan deletes {names}", hint="review the plan, then re-run with --force"
        )


def _report_applied(
    applied: service.Applied,
    as_json: bool,
    unchanged: str = "no changes: the deployment already matches podkit.toml",
) -> None:
    record = applied.record
    data: dict[str, Any] = {
        "summary": applied.plan.summary,
        "changes_applied": applied.result.applied,
        "endpoint_id": applied.endpoint_id,
        "history_record": record.number if record else None,
        "image": record.image if record else None,
    }
    if as_json:
        print_json(data)
        return
    if not applied.plan.has_changes:
        console.print(unchanged)
        return
    console.print(
        f"[green]applied[/] {applied.plan.summary}; endpoint {applied.endpoint_id}"
        + (f"; history record #{record.number}" if record else "")
    )


@app.command()
def rollback(
    config: Path = CONFIG,
    env: str | None = ENV,
    sets: list[str] = SET,
    api: str = API,
    target: str | None = TARGET,
    to: int | None = typer.Option(
        None,
        "--to",
        help="History record number (default: the latest record with a different image).",
    ),
    yes: bool = YES,
    as_json: bool = JSON,
    lock_timeout: str = LOCK_TIMEOUT,
) -> None:
    """Re-apply an earlier recorded deploy (its exact image digest and settings).

    After `podkit destroy` it recreates the deployment, and asks first (or needs --yes).
    """
    deployment = _load(config, env, sets)
    history = project_history(config, deployment, target)
    history.check_writable()
    with (
        _client(api, target) as client,
        deploy_lock(client, deployment, env, lock_timeout).held(),
    ):
        destroyed = history.last_destroy()
        prepared = service.prepare_rollback(client, history, to, deployment.worker.env)
        if not as_json:
            console.print(plan_table(prepared.plan))
        if destroyed is not None:
            err_console.print(
                f"{prepared.plan.scope.owner} was destroyed on {destroyed.applied_at[:10]} by "
                f"history #{destroyed.number}: this rollback recreates it",
                soft_wrap=True,
            )
            _confirm(f"Recreate {prepared.plan.scope.owner} as {prepared.desired.image}?", yes)
        elif prepared.plan.has_changes:
            _confirm(f"Roll {prepared.plan.scope.owner} back to {prepared.desired.image}?", yes)
        source = f"rollback: {prepared.plan.notes[0]}" if prepared.plan.notes else "rollback"
        with _WriteSteps("rollback", env) as steps:
            applied = service.apply_prepared(
                client,
                prepared,
                history,
                source=source,
                progress=steps.progress,
                post_apply=steps.then(None),
                local_worker=local_worker(deployment.local, config),
            )
        _report_applied(applied, as_json, unchanged="no changes: that record is what is live")


@app.command()
def destroy(
    config: Path = CONFIG,
    env: str | None = ENV,
    sets: list[str] = SET,
    api: str = API,
    target: str | None = TARGET,
    volumes: bool = typer.Option(False, "--volumes", help="Also delete network volumes."),
    yes: bool = YES,
    as_json: bool = JSON,
    lock_timeout: str = LOCK_TIMEOUT,
) -> None:
    """Delete this project's podkit-owned objects in this environment.

    Templates go too, whichever REST generation made them; the destroy is recorded in the
    history.
    """
    deployment = _load(config, env, sets)
    history = project_history(config, deployment, target)
    history.check_writable()
    with (
        _client(api, target) as client,
        deploy_lock(client, deployment, env, lock_timeout).held(),
    ):
        caught_up: Record | None = None
        plan, snapshot = service.prepare_destroy(
            client, service.scope_for(deployment), volumes=volumes
        )
        if not as_json:
            console.print(plan_table(plan))
        if plan.has_changes:
            _confirm(f"Delete {plan.summary.replace(' to delete', '')} object(s)?", yes)
            with _WriteSteps("destroy", env) as steps:
                service.destroy(client, plan, snapshot, progress=steps.progress)
                steps.finished = True
            gone = [c.resource.id for c in plan.changes if c.resource.kind == "endpoint"]
            history.append_destroy(client.api, gone[0] if gone else None)
        else:
            caught_up = _finish_destroy_record(history, client.api)
    if as_json:
        print_json(plan_to_dict(plan))
    elif plan.has_changes:
        console.print(f"[green]destroyed[/] {plan.summary.replace(' to delete', '')} object(s)")
    elif caught_up is not None:
        console.print(
            f"nothing owned is left; recorded the destroy an interrupted run did not record "
            f"as history #{caught_up.number}"
        )


def _finish_destroy_record(history: History, api: str) -> Record | None:
    """Nothing owned is left to delete: when the history still ends on a live deploy, an
    earlier destroy stopped after its deletes and before its record; write that record."""
    records = history.records()
    if not records or records[-1].destroyed:
        return None
    return history.append_destroy(api, records[-1].endpoint_id)


@app.command()
def status(
    config: Path = CONFIG,
    env: str | None = ENV,
    sets: list[str] = SET,
    api: str = API,
    target: str | None = TARGET,
    as_json: bool = JSON,
    worker_quota: int | None = QUOTA,
) -> None:
    """Endpoints, current release and rollout, workers, queue depth, worker quota."""
    deployment = _load(config, env, sets)
    with _client(api, target) as client:
        history = project_history(config, deployment, target)
        report = read_status(client, deployment, history, worker_quota)
    if as_json:
        print_json(report)
    else:
        console.print(render_status(report))
