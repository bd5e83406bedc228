"""`podkit apply --wait --smoke`: gate a new release, and roll back by itself when it fails.

The deployer's apply runs this as its `post_apply` hook: wait until the endpoint's workers
run the applied version (v2 releases / rollout), run the `[[smoke]]` tests against it, and
on a failure (a crash loop of the new workers included, seen by `CrashWatch` while either
step waits) re-apply the previous record of the deploy history, then fail the command
saying what failed and what runs now.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from podkit.cli._smoke_client import smoke_client
from podkit.cli.console import console, err_console
from podkit.cli.smoke_run import check_report_paths, run_and_report
from podkit.config import Deployment
from podkit.config.local import LocalWorker
from podkit.deploy import service
from podkit.deploy.history import FAILED_ON, History
from podkit.errors import ConfigError, DeployError, Interrupted, PodkitError
from podkit.runpod import RunPodClient, connect
from podkit.runpod.crash_watch import CrashWatch, SeenWorker
from podkit.runpod.jobs import JobsClient
from podkit.runpod.lb_requests import LbClient
from podkit.runpod.worker_logs import WorkerLogs
from podkit.smoke import SmokeResult
from podkit.smoke.gate import RolloutState, gate, wait_for_rollout

Progress = Callable[[str], None]
# The cold smoke call's limit is the rollout's, but never below this.
MIN_COLD_CALL_S = 60.0


def release_gate(
    deployment: Deployment,
    history: History,
    *,
    local_worker: LocalWorker | None = None,
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
    if smoke:
        check_report_paths(markdown)

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
        submitted: list[str] = []

        with smoke_client(endpoint_id, target) as jobs:
            watch = CrashWatch(
                lambda: _workers(client, endpoint_id),
                lambda worker_id: last_lines(client, endpoint_id, worker_id),
                version=version,
                on_crash=lambda: cancel_jobs(jobs, submitted),
            )

            def read_rollout() -> RolloutState:
                watch.check()
                return rollout_of(client, endpoint_id)

            def run_tests() -> Sequence[SmokeResult]:
                if not smoke:
                    watch.check()
                    return []
                progress(f"smoke tests against release v{version}")
                results = run_and_report(
                    jobs,
                    deployment.smoke,
                    markdown_file=markdown,
                    # A cold call waits for a worker to start: as long as a rollout may take.
                    wait_timeout=max(rollout_timeout, MIN_COLD_CALL_S),
                    heading=f"Smoke tests: {endpoint_id} release v{version}",
                    out=err_console if as_json else console,
                    on_job=lambda job_id: _note(submitted, job_id),
                )
                watch.check()
                return results

            try:
                with watch:
                    passed = gate(
                        read_rollout=read_rollout,
                        run_tests=run_tests,
                        rollback=lambda: roll_back(
                            client,
                            history,
                            applied,
                            progress,
                            rollout_timeout,
                            local_worker,
                            current_env=deployment.worker.env,
                        ),
                        version=version,
                        rollout_timeout=rollout_timeout,
                    )
            except KeyboardInterrupt:
                _interrupted(jobs, submitted, applied, version)
                raise Interrupted from None
        progress(f"release v{version} is live on {endpoint_id}" + (" and passed" if smoke else ""))
        if not smoke and not passed.rollout.workers_total:
            # Nothing ran it yet: with no warm workers the first job starts the first one.
            progress("no worker runs it yet (no warm workers); --smoke starts one and tests it")

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
    local_worker: LocalWorker | None = None,
    *,
    current_env: Mapping[str, str] | None = None,
) -> str:
    """Re-apply the history record before the one this apply wrote, wait until the workers
    run it again, and describe what runs now.

    `current_env` is podkit.toml's `worker.env`: the values of the inline secrets that the
    record holds as fingerprints (see `podkit.deploy.sensitive`).
    """
    if applied.record is None:
        return "nothing rolled back: this apply changed nothing, the release was already live"
    current = applied.record.number
    earlier = [record for record in history.records() if record.number < current]
    destroys = [r for r in earlier if r.destroyed]
    if destroys:  # what ran before a destroy is no release to go back to
        earlier = [r for r in earlier if r.number > destroys[-1].number]
    if not earlier:
        return (
            f"nothing rolled back: history record #{current} is this project's first deploy "
            "(fix it and apply again, or `podkit destroy` it)"
        )
    previous = earlier[-1]
    progress(f"rolling back to history record #{previous.number} ({previous.image})")
    prepared = service.prepare_rollback(client, history, previous.number, current_env)
    rolled = service.apply_prepared(
        client,
        prepared,
        history,
        source=f"rollback: {FAILED_ON}{current}",
        progress=progress,
        local_worker=local_worker,
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


def _note(submitted: list[str], job_id: str) -> None:
    if job_id not in submitted:
        submitted.append(job_id)


def _workers(client: RunPodClient, endpoint_id: str) -> list[SeenWorker]:
    listed = client.workers.list(endpoint_id).workers
    return [SeenWorker(w.id, w.status, w.version, w.is_stale) for w in listed]


def last_lines(client: RunPodClient, endpoint_id: str, worker_id: str) -> list[str]:
    """The last lines a worker printed (its container output), if its log is still there."""
    # The log stream is a v2 route, on the v2 host even when the deploy went through v1.
    with connect("v2", target=client.target, key=client.key) as v2:
        logs = WorkerLogs(v2.http, client.key.reveal(), endpoint_id)
        try:
            lines = list(logs.read(worker_id, tail=30, idle_timeout=0.5, max_wait=3.0))
        except PodkitError:
            return []
    said = [entry.line for entry in lines if entry.source != "system" and entry.line.strip()]
    return said[-3:]


def cancel_jobs(jobs: JobsClient | LbClient, job_ids: Sequence[str]) -> list[str]:
    """Cancel the jobs still queued or running; the ids of those cancelled.

    A load-balancing endpoint's smoke tests are plain HTTP requests: no job to cancel.
    """
    if isinstance(jobs, LbClient):
        return []
    cancelled = []
    for job_id in job_ids:
        try:
            if not jobs.status(job_id).terminal:
                jobs.cancel(job_id)
                cancelled.append(job_id)
        except PodkitError:
            continue  # gone or unreachable: nothing more to do from here
    return cancelled


def _interrupted(
    jobs: JobsClient | LbClient,
    submitted: Sequence[str],
    applied: service.Applied,
    version: int | None,
) -> None:
    """After Ctrl-C: cancel the smoke jobs, then say what stays deployed."""
    cancelled = cancel_jobs(jobs, submitted)
    record = f" (history record #{applied.record.number})" if applied.record else ""
    jobs_said = f"; cancelled smoke job(s) {', '.join(cancelled)}" if cancelled else ""
    err_console.print(
        f"interrupted: release v{version} of endpoint {applied.endpoint_id}{record} stays "
        f"applied but was not verified{jobs_said}; go back with `podkit rollback`",
        soft_wrap=True,
    )
