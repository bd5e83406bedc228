"""`podkit test`: run the `[[smoke]]` tests of podkit.toml against the endpoint.

Exit codes: 0 all passed, 1 a test failed (or any other podkit error), 2 usage.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from podkit.cli._jobs_common import (
    CONFIG_OPTION,
    ENDPOINT_OPTION,
    ENV_OPTION,
    TARGET_OPTION,
    jobs_client,
    parse_duration,
    resolve_endpoint,
)
from podkit.cli.app import app
from podkit.cli.console import console, err_console, print_json
from podkit.cli.job_display import progress_text
from podkit.config import SmokeTest, load_config
from podkit.errors import ConfigError, DeployError
from podkit.runpod.jobs import JobsClient, JobUpdate, ProgressCallback
from podkit.smoke import SmokeResult, run_smoke
from podkit.smoke.report import markdown, summary_line, table


@app.command("test")
def test_command(
    endpoint: str | None = ENDPOINT_OPTION,
    env: str | None = ENV_OPTION,
    target: str | None = TARGET_OPTION,
    config: Path = CONFIG_OPTION,
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
    endpoint_id = resolve_endpoint(endpoint, env, config, target)
    with jobs_client(endpoint_id, target) as client:
        results = run_and_report(
            client,
            tests,
            markdown_file=markdown_file,
            as_json=as_json,
            wait_timeout=parse_duration(timeout, "--timeout"),
        )
    if not all(result.passed for result in results):
        raise DeployError(
            f"{summary_line(results)} on endpoint {endpoint_id}: "
            + "; ".join(f"{r.name}: {r.failures[0]}" for r in results if not r.passed),
            hint="see the table above and `podkit logs` for the worker's side",
        )


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


def run_and_report(
    client: JobsClient,
    tests: Sequence[SmokeTest],
    *,
    markdown_file: Path | None = None,
    as_json: bool = False,
    wait_timeout: float | None = None,
    heading: str = "Smoke tests",
    out: Console = console,
) -> list[SmokeResult]:
    """Run the tests, print the table (or JSON) on `out`, write Markdown where asked."""
    results = run_smoke(client, tests, wait_timeout=wait_timeout, on_update=_progress)
    endpoint_id = client.endpoint_id
    if as_json:
        print_json({"endpoint": endpoint_id, "results": [r.to_json() for r in results]})
    else:
        out.print(table(results, endpoint_id))
        for result in results:
            for failure in result.failures:
                out.print(f"[red]FAIL[/] {escape(result.name)}: {escape(failure)}", soft_wrap=True)
    text = markdown(results, endpoint_id, heading)
    if markdown_file is not None:
        markdown_file.write_text(text, encoding="utf-8")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with Path(summary).open("a", encoding="utf-8") as handle:
            handle.write(text)
    return results


def _progress(test: SmokeTest, phase: str) -> ProgressCallback:
    err_console.print(f"[dim]{escape(test.name)} ({phase})...[/]", soft_wrap=True)

    def show(update: JobUpdate) -> None:
        if update.new_progress:
            line = progress_text(update.progress)
            err_console.print(f"  [cyan]>[/] {escape(line)}", soft_wrap=True)

    return show
