"""Options shared by several commands, so each reads and documents the same way everywhere.

Help texts go through rich markup: a literal `[` is written `\\[`, or the text in brackets is lost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from podkit.config import DEFAULT_FILE
from podkit.config.cli_values import check_duration, check_id, check_local_dir
from podkit.errors import ConfigError


def _endpoint_id(value: str | None) -> str | None:
    # An empty PODKIT_ENDPOINT_ID means "not set": the project's endpoint is looked up.
    return check_id(value or None, "--endpoint")


def _job_id(value: str) -> str:
    checked = check_id(value, "JOB_ID")
    assert checked is not None
    return checked


def duration(default: str | None, flag: str, help: str) -> Any:
    """A duration option (`90s`, `10m`, `1h`, plain seconds), checked as it is parsed."""

    def check(value: str | None) -> str | None:
        check_duration(value, flag)
        return value

    return typer.Option(default, flag, callback=check, help=f"{help} (90s, 10m, 1h or seconds).")


def _local_dir(value: str | None) -> str | None:
    return check_local_dir(value, "--local")


def local_dir(help: str) -> Any:
    """--local DIR (text: typer would read "" as the current directory before the check): a
    directory here standing in for /runpod-volume; never empty."""
    return typer.Option(None, "--local", metavar="<path>", callback=_local_dir, help=help)


def job_id(help: str = "The job id.") -> str:
    """The JOB_ID argument, checked as it is parsed."""
    return typer.Argument(..., help=help, callback=_job_id)  # type: ignore[no-any-return]


CONFIG = typer.Option(Path(DEFAULT_FILE), "--config", "-c", help="Path to podkit.toml.")
ENV = typer.Option(None, "--env", "-e", help="Environment: the env.NAME overlay of podkit.toml.")
TARGET = typer.Option(
    None, "--target", help="runpod (default), local, or an origin URL; env PODKIT_TARGET."
)


def _api(value: str) -> str:
    if value not in ("v2", "v1"):
        raise ConfigError(f"--api: {value!r} is not a REST generation; use --api v2 or v1")
    return value


API = typer.Option("v2", "--api", callback=_api, help="RunPod REST generation: v2 (default) or v1.")
ENDPOINT = typer.Option(
    None,
    "--endpoint",
    envvar="PODKIT_ENDPOINT_ID",
    callback=_endpoint_id,
    help="Endpoint id (default: the project's deployed endpoint).",
)
