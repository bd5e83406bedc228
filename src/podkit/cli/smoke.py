"""`podkit test`: run the `[[smoke]]` tests of podkit.toml against the endpoint.

Exit codes: 0 all passed, 1 a test failed (or any other podkit error, usage errors too).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from podkit.cli._crash_watching import crash_watch
from podkit.cli._jobs_common import parse_duration, resolve_endpoint, say
from podkit.cli._smoke_client import smoke_client
from podkit.cli.app import app
from podkit.cli.options import CONFIG, ENDPOINT, ENV, TARGET
from podkit.cli.release_gate import cancel_jobs
from podkit.cli.smoke_run import run_and_report
from podkit.config import SmokeTest, load_config
from podkit.errors import ConfigError, DeployError, Interrupted
from podkit.runpod.crash_watch import CrashLoopError, CrashWatch
from podkit.runpod.jobs import JobsClient
from podkit.runpod.lb_requests import LbClient
from podkit.smoke import SmokeResult
from podkit.smoke.report import summary_line


@app.command("test")
def test_command(
    endpoint: str | None = ENDPOINT,
    env: str | None = ENV,
    target: str | None = TARGET,
    config: Path = CONFIG,
    only: list[str] = typer.Option([], "--only", help="Run only the named test (repeatable)."),
    markdown_file: Path | None = typer.Option(
        None, "--markdown", help="Also write the report as Markdown to this file."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    timeout: str | None = typer.Option(
        "30m", "--timeout", help="Give up on one call after this long (queue + run)."
    ),
) -> None:
    """Run the smoke tests of podkit.toml: each twice (cold, then warm), checked and timed."""
    loaded = load_config(config, env=env)
    tests = select_tests(loaded.deployment.smoke, only, config)
    wait_timeout = parse_duration(timeout, "--timeout")
    endpoint_id = resolve_endpoint(endpoint, env, config, target)
    submitted: list[str] = []
    with smoke_client(endpoint_id, target) as client, crash_watch(client, target) as watch:
        try:
            results = run_and_report(
                client,
                tests,
                markdown_file=markdown_file,
                as_json=as_json,
                wait_timeout=wait_timeout,
                on_job=lambda job_id: _note(submitted, job_id, watch),
            )
        except KeyboardInterrupt:
            _cancel_left(client, submitted, "interrupted")
            raise Interrupted from None
        except CrashLoopError as exc:
            _cancel_left(client, submitted, "the workers crash-loop")
            raise CrashLoopError(
                f"smoke tests on endpoint {endpoint_id} stopped: {exc.message}", hint=exc.hint
            ) from None
        _cancel_left(client, unfinished(results), f"--timeout {timeout} passed")
    if not all(result.passed for result in results):
        if as_json:  # the results document on stdout says which failed; one document only
            raise typer.Exit(1)
        raise DeployError(
            f"{summary_line(results)} on endpoint {endpoint_id}: "
            + "; ".join(f"{r.name}: {r.failures[0]}" for r in results if not r.passed),
            hint="see the table above and `podkit logs` for the worker's side",
        )


def _note(submitted: list[str], job_id: str, watch: CrashWatch | None) -> None:
    """A smoke job was seen (on every poll): keep its id, and stop waiting once the workers
    that should run it are found crash-looping."""
    if job_id not in submitted:
        submitted.append(job_id)
    if watch is not None:
        watch.check()


def _cancel_left(client: JobsClient | LbClient, submitted: list[str], why: str) -> None:
    """Cancel the smoke jobs still queued or running, so none is left on the endpoint."""
    cancelled = cancel_jobs(client, submitted)
    if cancelled:
        say(f"{why}: cancelled smoke job(s) {', '.join(cancelled)} on {client.endpoint_id}")
    elif why == "interrupted":
        say("interrupted: no smoke job was left queued or running")


def unfinished(results: Sequence[SmokeResult]) -> list[str]:
    """The jobs podkit stopped waiting for (still queued or running when it gave up)."""
    attempts = [a for r in results for a in (r.cold, r.warm) if a is not None]
    return [a.job_id for a in attempts if a.status == "NOT_FINISHED" and a.job_id]


def select_tests(tests: Sequence[SmokeTest], only: Sequence[str], config: Path) -> list[SmokeTest]:
    """The tests to run (all, or those named by --only); none at all is an error."""
    if not tests:
        raise ConfigError(
            f"{config} has no [[smoke]] tests",
            hint='add one, e.g. [[smoke]] name = "gpu" input = { action = "gpu_info" }',
        )
    if not only:
        return list(tests)
    chosen = [test for test in tests if test.name in only]
    unknown = sorted(set(only) - {test.name for test in chosen})
    if unknown:
        known = ", ".join(repr(test.name) for test in tests)
        raise ConfigError(
            f"--only names no smoke test in {config}: {', '.join(unknown)}",
            hint=f"known tests: {known}",
        )
    return chosen
