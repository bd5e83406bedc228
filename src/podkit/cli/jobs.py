"""`podkit run ACTION` and `podkit job ...`: start, watch, cancel and retry serverless jobs.

Exit codes follow `podkit.runpod.job_outcome`: 0 COMPLETED, 3 FAILED, 4 TIMED_OUT,
5 CANCELLED, 6 still running when `--timeout` passed, 130 interrupted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from podkit.cli._crash_watching import check_while_queued, crash_watch
from podkit.cli._jobs_common import (
    interactive,
    interrupted,
    job_cmd,
    jobs_client,
    parse_duration,
    parse_input,
    resolve_endpoint,
    say,
)
from podkit.cli.app import app
from podkit.cli.console import confirm, console, err_console, print_json
from podkit.cli.job_display import JobDisplay
from podkit.cli.options import CONFIG, ENDPOINT, ENV, TARGET, duration
from podkit.cli.options import job_id as job_id_arg
from podkit.cli.release_gate import cancel_jobs
from podkit.errors import ConfigError, Interrupted, JobError, JobWaitTimeout
from podkit.redact import scrub_data
from podkit.runpod.crash_watch import CrashLoopError
from podkit.runpod.job_outcome import EXIT_STILL_RUNNING, outcome, timings
from podkit.runpod.job_types import (
    EXECUTION_TIMEOUT_RANGE_S,
    TTL_RANGE_S,
    Job,
    JobPolicy,
)
from podkit.runpod.jobs import JobsClient, JobUpdate

job_app = typer.Typer(help="Follow, cancel and retry jobs on an endpoint.", no_args_is_help=True)
app.add_typer(job_app, name="job")

JSON_OPTION = typer.Option(False, "--json", help="Print the job as JSON on stdout.")
TIMEOUT_OPTION = duration(None, "--timeout", "Stop waiting after this long; the job keeps running")


@app.command("run")
def run_command(
    action: str = typer.Argument(..., help="The worker action, e.g. gpu_info or sync_models."),
    input_: str | None = typer.Option(
        None,
        "--input",
        "-i",
        help="Action fields as a JSON object, or @file.json (@- reads standard input).",
    ),
    endpoint: str | None = ENDPOINT,
    env: str | None = ENV,
    target: str | None = TARGET,
    config: Path = CONFIG,
    async_: bool = typer.Option(False, "--async", help="Queue the job, print its id, return."),
    as_json: bool = JSON_OPTION,
    timeout: str | None = TIMEOUT_OPTION,
    ttl: str | None = duration(None, "--ttl", "Job lifetime, queue + run, 10s..7d (policy.ttl)"),
    execution_timeout: str | None = duration(
        None, "--execution-timeout", "This job's run-time limit, 5s..7d (policy.executionTimeout)"
    ),
) -> None:
    """Run ACTION on the endpoint (a short /runsync, then polling); exit code from its end."""
    payload = parse_input(input_, action)
    policy = _policy(ttl, execution_timeout)
    endpoint_id = resolve_endpoint(endpoint, env, config, target)
    with jobs_client(endpoint_id, target) as client:
        if async_:
            job = client.run(payload, policy=policy)
            _print_queued(job, endpoint_id, as_json)
            return
        display = JobDisplay(err_console, f"{action} on {endpoint_id}")
        job = _follow(
            client, display, target, payload=payload, policy=policy, timeout=timeout,
            as_json=as_json,
        )  # fmt: skip
    _finish(job, endpoint_id, display, as_json)


@job_app.command("wait")
def wait_command(
    job_id: str = job_id_arg(),
    endpoint: str | None = ENDPOINT,
    env: str | None = ENV,
    target: str | None = TARGET,
    config: Path = CONFIG,
    as_json: bool = JSON_OPTION,
    timeout: str | None = TIMEOUT_OPTION,
) -> None:
    """Follow a queued or running job to its end; exit code from the final state."""
    endpoint_id = resolve_endpoint(endpoint, env, config, target)
    with jobs_client(endpoint_id, target) as client:
        display = JobDisplay(err_console, f"job {job_id} on {endpoint_id}")
        job = _follow(client, display, target, job_id=job_id, timeout=timeout, as_json=as_json)
    _finish(job, endpoint_id, display, as_json)


@job_app.command("status")
def status_command(
    job_id: str = job_id_arg(),
    endpoint: str | None = ENDPOINT,
    env: str | None = ENV,
    target: str | None = TARGET,
    config: Path = CONFIG,
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a job's state, timings and output once."""
    endpoint_id = resolve_endpoint(endpoint, env, config, target)
    with jobs_client(endpoint_id, target) as client:
        job = client.status(job_id)
    if as_json:
        print_json(job.to_wire())
        return
    console.print(f"{escape(job.id)}: [bold]{job.status}[/]{escape(timings(job))}")
    if job.output is not None:
        _print_output(job.output)


@job_app.command("cancel")
def cancel_command(
    job_id: str = job_id_arg(),
    endpoint: str | None = ENDPOINT,
    env: str | None = ENV,
    target: str | None = TARGET,
    config: Path = CONFIG,
    as_json: bool = JSON_OPTION,
) -> None:
    """Cancel a queued or running job."""
    endpoint_id = resolve_endpoint(endpoint, env, config, target)
    with jobs_client(endpoint_id, target) as client:
        job = client.cancel(job_id)
    if as_json:
        print_json(job.to_wire())
        return
    console.print(f"job {escape(job.id)}: {job.status}")


@job_app.command("retry")
def retry_command(
    job_id: str = job_id_arg("The job id (FAILED or TIMED_OUT)."),
    endpoint: str | None = ENDPOINT,
    env: str | None = ENV,
    target: str | None = TARGET,
    config: Path = CONFIG,
    as_json: bool = JSON_OPTION,
) -> None:
    """Queue a FAILED or TIMED_OUT job again under the same id."""
    endpoint_id = resolve_endpoint(endpoint, env, config, target)
    with jobs_client(endpoint_id, target) as client:
        job = client.retry(job_id)
    if as_json:
        print_json(job.to_wire())
        return
    console.print(f"job {escape(job.id)}: {job.status}")
    console.print(f"follow it with `{job_cmd('wait', job.id, endpoint_id, target)}`")


@job_app.command("purge-queue")
def purge_command(
    endpoint: str | None = ENDPOINT,
    env: str | None = ENV,
    target: str | None = TARGET,
    config: Path = CONFIG,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help="Print {endpoint, removed} as JSON."),
) -> None:
    """Remove every queued job of the endpoint (running jobs are not touched)."""
    endpoint_id = resolve_endpoint(endpoint, env, config, target)
    confirm(f"Remove all queued jobs of {endpoint_id}?", yes, JobError)
    with jobs_client(endpoint_id, target) as client:
        removed = client.purge_queue()
    if as_json:
        print_json({"endpoint": endpoint_id, "removed": removed})
        return
    console.print(f"removed {removed} queued job(s) from {endpoint_id}")


# -- shared steps --------------------------------------------------------------------------


def _policy(ttl: str | None, execution_timeout: str | None) -> JobPolicy | None:
    ttl_s = _in_range(ttl, "--ttl", TTL_RANGE_S)
    exec_s = _in_range(execution_timeout, "--execution-timeout", EXECUTION_TIMEOUT_RANGE_S)
    if ttl_s is None and exec_s is None:
        return None
    return JobPolicy(
        ttl=None if ttl_s is None else int(ttl_s * 1000),
        execution_timeout=None if exec_s is None else int(exec_s * 1000),
    )


def _in_range(value: str | None, option: str, bounds: tuple[float, float]) -> float | None:
    """A policy duration in seconds, refused before any request when the data plane would
    answer 400 for it."""
    seconds = parse_duration(value, option)
    low, high = bounds
    if seconds is not None and not low <= seconds <= high:
        raise ConfigError(
            f"{option} {value}: out of range; the platform takes {_span(low)}..{_span(high)}",
            hint=f"give {option} between {_span(low)} and {_span(high)}, e.g. {option} 1h",
        )
    return seconds


def _span(seconds: float) -> str:
    return f"{seconds / 86400:g}d" if seconds >= 86400 else f"{seconds:g}s"


def _follow(
    client: JobsClient,
    display: JobDisplay,
    target: str | None,
    *,
    payload: Any = None,
    policy: JobPolicy | None = None,
    job_id: str | None = None,
    timeout: str | None = None,
    as_json: bool = False,
) -> Job:
    """Submit (or attach to) a job and watch it; Ctrl-C offers to cancel it. When `timeout`
    passes first, `as_json` prints the job as last seen (the one document on stdout)."""
    wait_s = parse_duration(timeout, "--timeout")
    try:
        with display, crash_watch(client, target) as watch:

            def update(seen: JobUpdate) -> None:
                display.update(seen)
                check_while_queued(watch, seen)

            if job_id is not None:
                return client.wait(job_id, timeout=wait_s, on_update=update)
            return client.execute(
                payload,
                policy=policy,
                timeout=wait_s,
                on_update=update,
                on_submit=display.submitted,
            )
    except CrashLoopError as exc:
        raise _stopped(client, display.job.id if display.job else job_id, exc, payload) from None
    except KeyboardInterrupt:
        current = display.job.id if display.job else job_id
        # A short /runsync submit holds the request for up to a second before the id is known.
        submitting = current is None and payload is not None
        interrupted(client, current, target, interactive=interactive(), submitting=submitting)
        raise Interrupted from None
    except JobWaitTimeout as exc:
        _still_running(exc, display.job, client.endpoint_id, target, as_json)
        raise typer.Exit(EXIT_STILL_RUNNING) from None


def _stopped(
    client: JobsClient, job_id: str | None, exc: CrashLoopError, submitted: Any
) -> CrashLoopError:
    """The workers crash-loop: a job this command submitted is cancelled (no worker would
    ever take it); one it attached to is left as it is."""
    where = f"job {job_id} on endpoint {client.endpoint_id}" if job_id else "the job"
    if job_id and submitted is not None and cancel_jobs(client, [job_id]):
        say(f"the workers crash-loop: cancelled job {job_id} on {client.endpoint_id}")
    return CrashLoopError(f"{where} cannot start: {exc.message}", hint=exc.hint)


def _still_running(
    exc: JobWaitTimeout, last: Job | None, endpoint_id: str, target: str | None, as_json: bool
) -> None:
    """`--timeout` passed: with `--json` the job as last seen (still queued or running) is
    the document on stdout; stderr says how to follow or cancel it."""
    if as_json:
        seen = last is not None and last.id == exc.job_id
        print_json(last.to_wire() if last is not None and seen else {"id": exc.job_id})
    say(f"[yellow]{escape(exc.message)}[/]")
    say(f"  follow: `{job_cmd('wait', exc.job_id, endpoint_id, target)}`")
    say(f"  cancel: `{job_cmd('cancel', exc.job_id, endpoint_id, target)}`")


def _finish(job: Job, endpoint_id: str, display: JobDisplay, as_json: bool) -> None:
    result = outcome(job, endpoint_id, started=display.running_since is not None or None)
    if as_json:
        print_json(job.to_wire())
    elif job.output is not None:
        _print_output(job.output)
    style = "green" if result.exit_code == 0 else "red"
    say(f"[{style}]{escape(result.message)}[/]")
    if result.hint:
        say(f"  [yellow]hint:[/] {escape(result.hint)}")
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _print_queued(job: Job, endpoint_id: str, as_json: bool) -> None:
    if as_json:
        print_json(job.to_wire())
        return
    console.out(job.id)
    say(
        f"queued on {escape(endpoint_id)}; results are kept 30 min after it ends. Follow it "
        f"with `podkit job wait {escape(job.id)} --endpoint {escape(endpoint_id)}`"
    )


def _print_output(output: Any) -> None:
    if isinstance(output, str):
        console.out(output)
    else:  # scrubbed before encoding: an escaped secret (\u00e9, \") reads as no secret
        console.out(json.dumps(scrub_data(output), indent=2, sort_keys=True, default=str))
