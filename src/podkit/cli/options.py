"""Options shared by several commands, so each reads and documents the same way everywhere.

Help texts go through rich markup: a literal `[` is written `\\[`, or the text in brackets is lost.
"""

from __future__ import annotations

from pathlib import Path

import typer

from podkit.config import DEFAULT_FILE

CONFIG = typer.Option(Path(DEFAULT_FILE), "--config", "-c", help="Path to podkit.toml.")
ENV = typer.Option(None, "--env", "-e", help="Environment: the env.NAME overlay of podkit.toml.")
TARGET = typer.Option(
    None, "--target", help="runpod (default), local, or an origin URL; env PODKIT_TARGET."
)
API = typer.Option("v2", "--api", help="RunPod REST generation: v2 (default) or v1.")
ENDPOINT = typer.Option(
    None,
    "--endpoint",
    envvar="PODKIT_ENDPOINT_ID",
    help="Endpoint id (default: the project's deployed endpoint).",
)
