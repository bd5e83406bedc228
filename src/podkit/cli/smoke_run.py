"""Run smoke tests and report them: terminal table (or JSON), Markdown file, CI summary.

Shared by `podkit test` and the gated `podkit apply --smoke`; no command lives here.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from podkit.cli.console import console, err_console, print_json
from podkit.cli.job_display import progress_text
from podkit.config import SmokeTest
from podkit.errors import ConfigError
from podkit.redact import append_file, write_file
from podkit.runpod.jobs import JobsClient, JobUpdate, ProgressCallback
from podkit.runpod.lb_requests import LbClient
from podkit.smoke import SmokeResult, run_smoke
from podkit.smoke.http_runner import run_http_smoke
from podkit.smoke.report import markdown, table


def run_and_report(
    client: JobsClient | LbClient,
    tests: Sequence[SmokeTest],
    *,
    markdown_file: Path | None = None,
    as_json: bool = False,
    wait_timeout: float | None = None,
    heading: str = "Smoke tests",
    out: Console = console,
    on_job: Callable[[str], None] | None = None,
) -> list[SmokeResult]:
    """Run the tests, print the table (or JSON) on `out`, write Markdown where asked.

    `on_job(job_id)` hears of every job a test submitted (to cancel them after Ctrl-C); a
    load-balancing endpoint's tests are HTTP requests and submit none.
    """
    check_report_paths(markdown_file)
    if isinstance(client, LbClient):
        results = run_http_smoke(client, tests)
    else:
        progress = _job_progress(on_job)
        results = run_smoke(client, tests, wait_timeout=wait_timeout, on_update=progress)
    endpoint_id = client.endpoint_id
    # The files first: a failure to write them is then the one document `--json` prints.
    text = markdown(results, endpoint_id, heading)
    if markdown_file is not None:
        write_file(markdown_file, text)
    summary = _summary_file()
    if summary is not None:
        append_file(summary, text)
    if as_json:
        print_json({"endpoint": endpoint_id, "results": [r.to_json() for r in results]})
    else:
        out.print(table(results, endpoint_id))
        for result in results:
            for failure in result.failures:
                out.print(f"[red]FAIL[/] {escape(result.name)}: {escape(failure)}", soft_wrap=True)
    return results


def check_report_paths(markdown_file: Path | None) -> None:
    """Before a test runs (or a release is applied): `--markdown` and `$GITHUB_STEP_SUMMARY`
    name files that can be written, so the report is not lost after the tests ran."""
    if markdown_file is not None:
        _check_writable(markdown_file, "--markdown")
    summary = _summary_file()
    if summary is not None:
        _check_writable(summary, "$GITHUB_STEP_SUMMARY")


def _summary_file() -> Path | None:
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    return Path(summary) if summary else None


def _check_writable(path: Path, option: str) -> None:
    hint = f"give {option} a file path in an existing directory you can write to"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise ConfigError(
            f"{option} {path}: cannot use it ({exc.strerror or exc})", hint=hint
        ) from None
    if mode is not None and (stat.S_ISDIR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        kind = "a directory" if stat.S_ISDIR(mode) else "a pipe or socket"
        raise ConfigError(f"{option} {path} is {kind}, not a file", hint=hint)
    if mode is None and not path.parent.is_dir():
        raise ConfigError(f"{option} {path}: no directory {path.parent} to write it in", hint=hint)
    if not os.access(path if mode is not None else path.parent, os.W_OK):
        raise ConfigError(f"{option} {path}: cannot write it (permission denied)", hint=hint)


def _progress(test: SmokeTest, phase: str) -> ProgressCallback:
    err_console.print(f"[dim]{escape(test.name)} ({phase})...[/]", soft_wrap=True)

    def show(update: JobUpdate) -> None:
        if update.new_progress:
            line = progress_text(update.progress)
            err_console.print(f"  [cyan]>[/] {escape(line)}", soft_wrap=True)

    return show


def _job_progress(
    on_job: Callable[[str], None] | None,
) -> Callable[[SmokeTest, str], ProgressCallback]:
    """`_progress`, also telling `on_job` of every job it hears about."""

    def progress(test: SmokeTest, phase: str) -> ProgressCallback:
        show = _progress(test, phase)

        def update(job: JobUpdate) -> None:
            if on_job is not None:
                on_job(job.job.id)
            show(job)

        return update

    return progress
