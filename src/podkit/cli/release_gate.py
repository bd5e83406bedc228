"""`podkit apply --wait --smoke`: gate a new release, and roll back by itself when it fails.

The deployer's apply runs this as its `post_apply` hook: wait until the endpoint's workers
run the applied version (v2 releases / rollout), run the `[[smoke]]` tests against it, and
on a failure re-apply the previous record of the deploy history, then fail the command
saying what failed and what runs now.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from podkit.cli._smoke_client import smoke_client
from podkit.cli.console import console, err_console
from podkit.cli.smoke_run import run_and_report
from podkit.config import Deployment
from podkit.deploy import service
from podkit.deploy.history import History
from podkit.errors import ConfigError, DeployError
from podkit.runpod import RunPodClient
from podkit.smoke import SmokeResult
from podkit.smoke.gate import RolloutState, gate, wait_for_rollout

Progress = Callable[[str], None]


def release_gate(
    deployment: Deployment,
    history: History,
    *,
    target: str | None,
    wait: bool,
    smoke: bool,
    rollout_timeout: float,
    progress: Progress,
    markdown: Path | None = None,
    as_json: bool = False,
) -> service.PostApply | None:
    """The post-apply hook for `--wait` / `--smoke` (None when neither is asked for).

    Checked before anything is applied: `--smoke` needs at least one `[[smoke]]` test.
    """
    if not (wait or smoke):
        return None
    if smoke and not deployment.smoke:
        raise ConfigError(
            "--smoke was given but podkit.toml has no [[smoke]] tests",
            hint='add one, e.g. [[smoke]] name = "gpu" input = { action = "gpu_info" }',
        )

    def hook(applied: service.Applied) -> None:
        endpoint_id = applied.endpoint_id
        if endpoint_id is None:
            raise DeployError(
                "the apply left no endpoint to wait for or to test",
                hint="check [endpoint] in podkit.toml",
            )
        client = applied.client
        version = client.releases.list(endpoint_id).endpoint_version
        progress(f"waiting for release v{version} on the workers of {endpoint_id}")

        def run_tests() -> Sequence[SmokeResult]:
            if not smoke:
                return []
            progress(f"smoke tests against release v{version}")
            with smoke_client(endpoint_id, target) as jobs:
                return run_and_report(
                    jobs,
                    deployment.smoke,
                    markdown_file=markdown,
                    heading=f"Smoke tests: {endpoint_id} release v{version}",
                    out=err_console if as_json else console,
                )

        gate(
            read_rollout=lambda: rollout_of(client, endpoint_id),
            run_tests=run_tests,
            rollback=lambda: roll_back(client, history, applied, progress, rollout_timeout),
            version=version,
            rollout_timeout=rollout_timeout,
        )
        progress(f"release v{version} is live on {endpoint_id}" + (" and passed" if smoke else ""))

    return hook


def rollout_of(client: RunPodClient, endpoint_id: str) -> RolloutState:
    """The endpoint's rollout as `GET /v2/serverless/{id}/releases` reports it."""
    releases = client.releases.list(endpoint_id)
    rollout = releases.rollout
    return RolloutState(
        releases.endpoint_version,
        rollout.in_progress,
        rollout.workers_on_latest,
        rollout.workers_total,
    )


def roll_back(
    client: RunPodClient,
    history: History,
    applied: service.Applied,
    progress: Progress,
    rollout_timeout: float,
) -> str:
    """Re-apply the history record before the one this apply wrote, wait until the workers
    run it again, and describe what runs now."""
    if not applied.plan.has_changes or applied.record is None:
        return "nothing rolled back: this apply changed nothing, the release was already live"
    current = applied.record.number
    earlier = [record for record in history.records() if record.number < current]
    if not earlier:
        return (
            f"nothing rolled back: history record #{current} is this project's first deploy "
            "(fix it and apply again, or `podkit destroy` it)"
        )
    previous = earlier[-1]
    progress(f"rolling back to history record #{previous.number} ({previous.image})")
    prepared = service.prepare_rollback(client, history, previous.number)
    rolled = service.apply_prepared(
        client,
        prepared,
        history,
        source=f"rollback: smoke tests failed on #{current}",
        progress=progress,
    )
    done = f"rolled back to history record #{previous.number} ({previous.image})"
    if rolled.endpoint_id is None:
        return done
    return f"{done}, {_settle(client, rolled.endpoint_id, rollout_timeout)}"


def _settle(client: RunPodClient, endpoint_id: str, timeout: float) -> str:
    """Wait for the rolled-back release to reach the workers; say how that went."""
    version = client.releases.list(endpoint_id).endpoint_version
    try:
        wait_for_rollout(lambda: rollout_of(client, endpoint_id), version=version, timeout=timeout)
    except DeployError as exc:
        return f"but its rollout is not finished: {exc.message}"
    return f"live again as release v{version}"
