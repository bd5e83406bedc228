"""`podkit ci summary`: what a deploy job leaves in `$GITHUB_STEP_SUMMARY` after apply.

It reads the deploy history (what podkit applied last) and the live endpoint (its id and
RunPod release), and renders both with ready-to-copy `curl` commands for the target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from podkit.ci import DeploySummary, render_summary
from podkit.cli._jobs_common import project_history
from podkit.cli.console import console, print_json
from podkit.cli.options import API, CONFIG, ENV, TARGET
from podkit.config import Deployment, load_config
from podkit.deploy.history import History, Record
from podkit.deploy.service import scope_for
from podkit.deploy.status import read_status
from podkit.errors import AuthError, DeployError, PodkitError
from podkit.redact import append_file, public_url
from podkit.runpod import connect
from podkit.runpod.target import resolve_target

app = typer.Typer(name="ci", help="Helpers for CI jobs (GitHub Actions).", no_args_is_help=True)


@app.command("summary")
def summary(
    config: Path = CONFIG,
    env: str | None = ENV,
    api: str = API,
    target: str | None = TARGET,
    markdown: Path | None = typer.Option(
        None, "--markdown", help="Append the summary to this file (e.g. $GITHUB_STEP_SUMMARY)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output on stdout."),
) -> None:
    """The live release of this project and environment, with curl commands to call it."""
    deployment = load_config(config, env=env).deployment
    history = target_history(config, deployment, target)
    record = latest_record(history, deployment)
    live = live_endpoint(deployment, history, api, target)
    facts = DeploySummary(
        project=deployment.project,
        environment=env,
        endpoint_id=str(live.get("id") or record.endpoint_id or "(unknown)"),
        endpoint_name=deployment.endpoint_name,
        dataplane_url=f"{public_url(resolve_target(target).data_plane).rstrip('/')}/v2",
        image=str(live.get("image") or record.image),
        release=release_text(live, record),
        example_input=example_input(deployment),
        base_url=live.get("base_url"),
        example_request=example_request(deployment),
        health_path=deployment.worker.health_path or "/ping",
    )
    emit(facts, markdown, as_json)


def target_history(config: Path, deployment: Deployment, target: str | None) -> History:
    """The records of this target (as every command sees them); without an API key, all of
    them, since the summary can still be rendered from the history alone."""
    try:
        return project_history(config, deployment, target)
    except AuthError:
        return History(scope_for(deployment), config.resolve().parent)


def latest_record(history: History, deployment: Deployment) -> Record:
    """The newest deploy history record of this project and environment; a destroy is an
    error (nothing is live to summarize)."""
    records = history.records()
    if not records:
        ref = history.target_ref
        where = "" if ref is None else f" for {public_url(ref.origin)}"
        raise DeployError(
            f"no deploy recorded for {deployment.project} in {history.path}{where}",
            hint="run `podkit apply` first; in CI, keep .podkit/ between runs (the state artifact)",
        )
    latest = records[-1]
    if latest.destroyed:
        where = f" (env {deployment.environment})" if deployment.environment else ""
        raise DeployError(
            f"the endpoint {deployment.endpoint_name!r} of project {deployment.project}{where} "
            f"was destroyed on {latest.applied_at[:10]} by history #{latest.number}: no live "
            "release to summarize",
            hint="run `podkit apply` to deploy it again (or `podkit rollback`), then summarize",
        )
    return latest


def live_endpoint(
    deployment: Deployment, history: History, api: str, target: str | None
) -> dict[str, Any]:
    """The endpoint's live status (id, image, release); empty when it cannot be read."""
    try:
        with connect("v1" if api == "v1" else "v2", target=target) as client:
            report = read_status(client, deployment, history, None)
    except PodkitError:
        return {}  # the summary still shows what history recorded
    for endpoint in report.get("endpoints", []):
        if endpoint.get("name") == deployment.endpoint_name:
            return dict(endpoint)
    return {}


def release_text(live: dict[str, Any], record: Record) -> str:
    """`v3 (release abc) - deploy #3: rollback to #1` from what is known."""
    recorded = f"deploy #{record.number}: {record.source}, {record.applied_at}"
    release = live.get("release") or {}
    if release.get("version") is None:
        return recorded
    return f"v{release['version']} (release {release.get('id', '?')}) - {recorded}"


def example_input(deployment: Deployment) -> dict[str, Any]:
    """A job input to show in the curl commands: the first smoke test's, else `gpu_info`."""
    for test in deployment.smoke:
        if test.input is not None:
            return dict(test.input)
    return {"action": "gpu_info"}


def example_request(deployment: Deployment) -> tuple[str, str, Any]:
    """A load balancer's request to show: the first HTTP smoke test's, else its health path."""
    for test in deployment.smoke:
        if test.path is not None:
            return test.http_method, test.path, test.body
    return "GET", deployment.worker.health_path or "/ping", None


def emit(facts: DeploySummary, markdown: Path | None, as_json: bool) -> None:
    """Append to `--markdown`, print JSON, or print the Markdown itself."""
    text = render_summary(facts)
    if markdown is not None:
        append_file(markdown, text)
    if as_json:
        print_json({**vars(facts), "markdown": text})
    elif markdown is None:
        console.out(text, highlight=False)
    else:
        console.print(f"{facts.endpoint_id}: {facts.release}; {facts.image}")
