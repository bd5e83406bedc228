"""`podkit init [DIR]`: scaffold a worker project with its Dockerfile, config, CI and tests."""

from __future__ import annotations

from pathlib import Path

import typer

from podkit.cli.app import app
from podkit.cli.console import console, print_json
from podkit.errors import ConfigError
from podkit.scaffold.project import (
    KINDS,
    ProjectSpec,
    project_name,
    render_project,
    write_project,
)
from podkit.scaffold.workflow import REGISTRIES


@app.command("init")
def init(
    directory: Path = typer.Argument(Path(), help="Where to create the project."),
    name: str | None = typer.Option(None, "--name", help="Project name (default: DIR's name)."),
    registry: str = typer.Option(
        "ghcr", "--registry", help=f"Container registry for CI: {', '.join(REGISTRIES)}."
    ),
    pip_spec: str | None = typer.Option(
        None, "--podkit-spec", help="How the image and CI install podkit (default: this version)."
    ),
    kind: str = typer.Option(
        "queue",
        "--type",
        help="queue (a handler behind the job queue) or load_balancer (a FastAPI server).",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite files that already exist."),
    as_json: bool = typer.Option(False, "--json", help="Print the written files as JSON."),
) -> None:
    """Create a worker project: handler, Dockerfile, podkit.toml, deploy workflow, tests."""
    dest = directory.resolve()
    if kind not in KINDS:
        raise ConfigError(
            f"--type {kind!r} is not a kind of endpoint", hint="use queue or load_balancer"
        )
    spec = ProjectSpec(project_name(name or dest.name), registry, pip_spec, kind)
    written = write_project(dest, render_project(spec), force=force)
    rel = [str(p.relative_to(dest)) for p in written]
    if as_json:
        print_json({"project": spec.name, "directory": str(dest), "files": rel})
        return
    console.print(f"created {spec.name} in {dest}:")
    for path in rel:
        console.print(f"  {path}")
    follow = (
        "`make test` and `make serve`" if kind == "load_balancer" else "`make test` and `make demo`"
    )
    console.print(f"next: cd into it, then {follow}")
