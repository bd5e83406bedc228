"""`podkit init [DIR]`: scaffold a worker project with its Dockerfile, config, CI and tests."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from podkit.cli.app import app
from podkit.cli.console import console, err_console, print_json
from podkit.errors import ConfigError
from podkit.scaffold.checks import warnings_for
from podkit.scaffold.project import (
    KINDS,
    ProjectSpec,
    explicit_name,
    find_handler,
    handlers_below,
    project_name,
    render_project,
    write_project,
)
from podkit.scaffold.workflow import REGISTRIES, check_action
from podkit.scaffold.writer import lexists


@app.command("init")
def init(
    directory: Path = typer.Argument(
        Path(), help="Where to create the project, or an existing runpod handler file to adopt."
    ),
    name: str | None = typer.Option(
        None,
        "--name",
        help="Project name: lowercase letters, digits and '-', at most 40 (default: DIR's "
        "name, made into one).",
    ),
    registry: str = typer.Option(
        "ghcr", "--registry", help=f"Container registry for CI: {', '.join(REGISTRIES)}."
    ),
    pip_spec: str | None = typer.Option(
        None,
        "--podkit-spec",
        help="How the image and the tests install podkit (default: where this podkit came "
        "from: its release, or the git commit or path pip installed it from).",
    ),
    action: str | None = typer.Option(
        None,
        "--action",
        help="podkit's GitHub Action for the workflow, OWNER/NAME@COMMIT (default: this "
        "podkit's own).",
    ),
    kind: str = typer.Option(
        "queue",
        "--type",
        help="queue (a handler behind the job queue) or load_balancer (a FastAPI server).",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite files that already exist."),
    as_json: bool = typer.Option(False, "--json", help="Print the written files as JSON."),
) -> None:
    """Create a worker project: handler, Dockerfile, podkit.toml, deploy workflow, tests.

    Next to a handler of your own (a file that calls `runpod.serverless.start`), init adopts
    it: the handler stays byte for byte, the files the directory already has (Dockerfile,
    requirements.txt...) are kept, and init writes the rest.
    """
    if kind not in KINDS:
        raise ConfigError(
            f"--type {kind!r} is not a kind of endpoint", hint="use queue or load_balancer"
        )
    check_action(action)
    dest, handler = find_handler(_resolved(directory))
    below = handlers_below(dest) if handler is None and dest.is_dir() and not force else []
    if below:
        raise ConfigError(
            f"{dest} has no runpod handler at its top, but {', '.join(below)} is one "
            "(nothing was written)",
            hint=f"adopt it with `podkit init {below[0]}`, or pass --force to create a new "
            "project here beside it",
        )
    if handler is not None and kind != "queue":
        raise ConfigError(
            f"{dest / handler} is a queue handler (it calls runpod.serverless.start); "
            f"--type {kind} cannot adopt it",
            hint="drop --type to adopt it, or pass a directory without a runpod handler",
        )
    # Adopting keeps what the repository already has (its Dockerfile, requirements, README...)
    # and writes only what is missing; --force replaces them.
    keep = handler is not None and not force
    spec = ProjectSpec(
        explicit_name(name) if name is not None else project_name(dest.name),
        registry,
        pip_spec,
        action=action,
        handler=handler,
        kind=kind,
        own_requirements=keep and lexists(dest / "requirements.txt"),
    )
    try:
        written, kept = write_project(dest, render_project(spec), force=force, keep=keep)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the project into {dest}: {exc.strerror or exc}",
            hint="pass a directory you can create and write to",
        ) from exc
    rel = [str(p.relative_to(dest)) for p in written]
    kept_rel = [str(p.relative_to(dest)) for p in kept]
    for warning in warnings_for(dest, handler, kept_rel):
        err_console.print(f"warning: {escape(warning)}", soft_wrap=True)
    if as_json:
        print_json(
            {
                "project": spec.name,
                "directory": str(dest),
                "files": rel,
                "kept": kept_rel,
                "adopted": handler,
            }
        )
        return
    if handler is not None:
        console.print(f"adopted {handler} in {dest} as project {spec.name} (left unchanged);")
        if "Dockerfile" not in kept_rel:
            console.print(f"the Dockerfile's CMD runs it: python -u {handler}")
        console.print("wrote:")
    else:
        console.print(f"created {spec.name} in {dest}:")
    for path in rel:
        console.print(f"  {path}")
    if kept_rel:
        console.print("kept as they are (yours; --force replaces them with podkit's):")
        for path in kept_rel:
            console.print(f"  {path}")
    if handler is not None:
        console.print(
            "podkit's built-ins (gpu_info, list_files, sync_models) beside your handler: "
            "see README.md, 'podkit's built-in actions'",
            soft_wrap=True,
        )
    follow = (
        "`make test` and `make serve`" if kind == "load_balancer" else "`make test` and `make demo`"
    )
    if "Makefile" in kept_rel:
        follow = (
            "install requirements-dev.txt in a virtual environment, then `python -m pytest "
            "tests` and `python demo.py`"
        )
    console.print(f"next: cd into it, then {follow}", soft_wrap=True)


def _resolved(directory: Path) -> Path:
    try:
        return directory.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise ConfigError(
            f"{directory}: cannot follow the path ({exc})",
            hint="pass a directory, or a handler file, that the path really leads to",
        ) from exc
