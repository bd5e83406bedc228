"""`podkit test`: run the `[[smoke]]` tests of podkit.toml against the endpoint.

Exit codes: 0 all passed, 1 a test failed (or any other podkit error, usage errors too).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from podkit.cli._jobs_common import (
    parse_duration,
    resolve_endpoint,
)
from podkit.cli._smoke_client import smoke_client
from podkit.cli.app import app
from podkit.cli.options import CONFIG, ENDPOINT, ENV, TARGET
from podkit.cli.smoke_run import run_and_report
from podkit.config import SmokeTest, load_config
from podkit.errors import ConfigError, DeployError
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
    endpoint_id = resolve_endpoint(endpoint, env, config, target)
    with smoke_client(endpoint_id, target) as client:
        results = run_and_report(
            client,
            tests,
            markdown_file=markdown_file,
            as_json=as_json,
            wait_timeout=parse_duration(timeout, "--timeout"),
        )
    if not all(result.passed for result in results):
        if as_json:  # the results document on stdout says which failed; one document only
            raise typer.Exit(1)
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
