"""`podkit models sync`: put the `[[models]]` of podkit.toml on the network volume.

`--local DIR` runs the engine here with DIR standing in for /runpod-volume; otherwise the
endpoint's workers run `sync_models` (through `/run` and polling). Rich progress bars on a
terminal, one JSON report with `--json`. Exit 0 when everything is in place, 1 otherwise;
`--dry-run` exits 2 when something is missing or stale, as `podkit plan` does for changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from podkit.cli.console import console, err_console, print_json
from podkit.cli.options import CONFIG, ENDPOINT, ENV, TARGET, duration, local_dir
from podkit.config.cli_values import check_duration
from podkit.config.models import ModelSource
from podkit.deploy.models_view import size_text
from podkit.errors import ConfigError, TransferError

if TYPE_CHECKING:
    from podkit.worker.transfer import ConnectionSetting

app = typer.Typer(name="models", help="Models on the network volume.", no_args_is_help=True)

FAILED_HINT = "check the source, its credentials and any declared sha256, then re-run"
DRY_RUN_CHANGES = 2  # as `podkit plan`: something is missing or stale
PARTIAL_HINT = (
    "re-run the sync (verified chunks are kept) or raise the endpoint's execution timeout"
)


def read_models(config: Path, env: str | None = None) -> list[ModelSource]:
    """The `[[models]]` of a podkit.toml (ConfigError names the file, line and field).

    A full project file goes through the project loader (environments, every key checked);
    a file holding only `[[models]]` (handy with --local) is read on its own.
    """
    from podkit.config.loader import load_config, load_models_file

    if is_project_file(config) or env is not None:
        models = load_config(config, env=env).deployment.models
    else:
        models = load_models_file(config)
    if not models:
        raise ConfigError(
            f"{config} declares no [[models]]",
            hint="add a [[models]] table with source and destination (docs/models.md)",
        )
    return models


def is_project_file(config: Path) -> bool:
    """Whether the file is a whole podkit.toml (it names a project), read as the loader
    reads it: UTF-8 with or without a byte order mark, every failure a ConfigError."""
    from podkit.config.syntax import parse_toml, read_text

    return "project" in parse_toml(config, read_text(config))


class Bars:
    """One rich bar for bytes; the description carries files done and the current file."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=False,
        )
        self.task: TaskID | None = None

    def update(self, snapshot: dict[str, Any]) -> None:
        if self.task is None and not snapshot.get("files_total"):
            return  # nothing to fetch (yet): no empty bar
        total = int(snapshot.get("bytes_total") or 0) or None
        text = f"{snapshot.get('files_done', 0)}/{snapshot.get('files_total', 0)} files"
        if self.task is None:
            self.task = self.progress.add_task(text, total=total)
        self.progress.update(
            self.task, completed=int(snapshot.get("bytes_done", 0)), total=total, description=text
        )


@app.command("sync")
def sync(
    config: Path = CONFIG,
    env: str | None = ENV,
    local: str | None = local_dir("Sync into DIR here (DIR stands in for /runpod-volume)."),
    endpoint: str | None = ENDPOINT,
    target: str | None = TARGET,
    connections: str = typer.Option(
        "auto",
        help="Connection budget: 1-64, or auto (start at 16 and add connections while the "
        "rate follows, up to 64).",
    ),
    timeout_text: str | None = duration(
        None,
        "--timeout",
        "Stop cleanly before this long (default: the endpoint's execution timeout); verified "
        "chunks are kept for the next run",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only show what is missing or stale."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Fetch what is missing or changed, verify it, and place it atomically.

    Exit 0: everything in place. 1: a file failed or the sync stopped early. With --dry-run,
    2: something is missing or stale.
    """
    setting = _connection_setting(connections)
    timeout = check_duration(timeout_text, "--timeout")
    models = read_models(config, env)
    job_input: dict[str, Any] = {
        "models": [m.model_dump(exclude_none=True) for m in models],
        "dry_run": dry_run,
    }
    if setting != "auto":  # a worker image from before "auto" accepts only numbers
        job_input["connections"] = setting
    if timeout is not None:
        job_input["timeout_s"] = timeout
    bars = None if json_out else Bars()
    if local is not None:
        report = _run_local(models, Path(local), setting, timeout, dry_run, bars)
    else:
        report = _run_remote(job_input, endpoint, (config, env, target), bars)
    _show(report, json_out)


def _connection_setting(value: str) -> ConnectionSetting:
    if value == "auto":
        return "auto"
    if value.isdigit() and 1 <= int(value) <= 64:
        return int(value)
    raise typer.BadParameter(
        f"{value!r} is neither a number from 1 to 64 nor auto", param_hint="'--connections'"
    )


def _run_local(
    models: list[ModelSource],
    volume: Path,
    connections: ConnectionSetting,
    timeout: float | None,
    dry_run: bool,
    bars: Bars | None,
) -> dict[str, Any]:
    import time

    from podkit.worker.transfer import options_for, plan_models, sync_models

    try:
        volume.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"--local {volume}: cannot create the directory ({exc.strerror or exc})",
            hint="give a directory to stand in for /runpod-volume (it is created if missing)",
        ) from exc
    if dry_run:
        return {"status": "plan", "entries": plan_models(models, volume)}
    deadline = None if timeout is None else time.monotonic() + timeout
    options = options_for(connections, deadline=deadline)
    callback = None if bars is None else (lambda p: bars.update(p.as_dict()))
    if bars is None:
        return sync_models(models, volume, options=options).as_dict()
    with bars.progress:
        return sync_models(models, volume, options=options, progress=callback).as_dict()


def _run_remote(
    job_input: dict[str, Any],
    endpoint: str | None,
    where: tuple[Path, str | None, str | None],
    bars: Bars | None,
) -> dict[str, Any]:
    from podkit.cli._jobs_common import interactive, jobs_client, resolve_endpoint
    from podkit.cli._models_remote import execution_timeout_s, sync_on_endpoint

    config, env, target = where
    if not endpoint and not is_project_file(config):
        raise ConfigError(
            f"no endpoint to sync on: {config} is not a project file and no --endpoint was given",
            hint="pass --endpoint ID (or PODKIT_ENDPOINT_ID), or --local DIR to sync here",
        )
    endpoint_id = resolve_endpoint(endpoint, env, config, target)
    if "timeout_s" not in job_input:
        # Stop cleanly before the endpoint's own execution timeout, which would kill the job.
        timeout_s = execution_timeout_s(endpoint_id, target)
        if timeout_s is not None:
            job_input["timeout_s"] = timeout_s
    with jobs_client(endpoint_id, target) as client:
        return sync_on_endpoint(
            job_input,
            client=client,
            target=target,
            on_progress=(lambda _: None) if bars is None else bars.update,
            interactive=interactive(),
            display=None if bars is None else bars.progress,
        )


def _show(report: dict[str, Any], json_out: bool) -> None:
    status = report.get("status")
    if json_out:
        print_json(report)
    elif status == "plan":
        _show_plan(report)
    else:
        _show_report(report)
    if status == "plan":
        if any(entry["to_fetch"] for entry in report.get("entries", [])):
            raise typer.Exit(DRY_RUN_CHANGES)
        return
    if status == "ok":
        return
    if json_out:
        raise typer.Exit(1)
    hint = PARTIAL_HINT if status == "partial" else FAILED_HINT
    raise TransferError(str(report.get("message", status)), hint=hint)


def _show_report(report: dict[str, Any]) -> None:
    table = Table()
    for place in ("source", "destination"):  # shown whole, wrapped on a narrow terminal
        table.add_column(place, overflow="fold")
    for count in ("files", "fetched", "current", "downloaded", "failed"):
        table.add_column(count, no_wrap=True)
    for entry in report.get("entries", []):
        table.add_row(
            escape(str(entry["source"])), escape(str(entry["destination"])), str(entry["files"]),
            str(entry["fetched"]), str(entry["skipped"] + entry.get("checked", 0)),
            size_text(entry["bytes_fetched"]), str(len(entry.get("failed", {}))),
        )  # fmt: skip
    console.print(table)
    if report.get("status") == "ok":
        budget = report.get("connections")  # absent from workers older than the auto budget
        on = f" on {budget} connections" if budget and report.get("data_requests") else ""
        console.print(f"[green]ok[/]: {escape(str(report.get('message', '')))}{on}")


def _show_plan(report: dict[str, Any]) -> None:
    for entry in report.get("entries", []):
        missing = entry["to_fetch"]
        console.print(
            f"[bold]{escape(str(entry['source']))}[/] -> {escape(str(entry['destination']))}: "
            f"{entry['current']} current, "
            f"{len(missing)} to fetch ({size_text(entry['bytes_to_fetch'])})"
        )
        for item in missing[:50]:
            console.print(f"  + {escape(str(item['path']))} ({escape(str(item['reason']))})")
        if len(missing) > 50:
            console.print(f"  ... and {len(missing) - 50} more")
