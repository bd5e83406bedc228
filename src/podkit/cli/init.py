"""`podkit init [DIR]`: scaffold a worker project with its Dockerfile, config, CI and tests."""

from __future__ import annotations

import ast
from pathlib import Path

import typer

from podkit.cli.app import app
from podkit.cli.console import console, err_console, print_json
from podkit.errors import ConfigError
from podkit.scaffold.project import (
    KINDS,
    ProjectSpec,
    explicit_name,
    find_handler,
    project_name,
    render_project,
    write_project,
)
from podkit.scaffold.workflow import REGISTRIES, check_action


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
    it: the handler stays byte for byte, and the Dockerfile's CMD runs it.
    """
    if kind not in KINDS:
        raise ConfigError(
            f"--type {kind!r} is not a kind of endpoint", hint="use queue or load_balancer"
        )
    check_action(action)
    dest, handler = find_handler(_resolved(directory))
    if handler is not None and kind != "queue":
        raise ConfigError(
            f"{dest / handler} is a queue handler (it calls runpod.serverless.start); "
            f"--type {kind} cannot adopt it",
            hint="drop --type to adopt it, or pass a directory without a runpod handler",
        )
    spec = ProjectSpec(
        explicit_name(name) if name is not None else project_name(dest.name),
        registry,
        pip_spec,
        action=action,
        handler=handler,
        kind=kind,
    )
    try:
        written = write_project(dest, render_project(spec), force=force)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the project into {dest}: {exc.strerror or exc}",
            hint="pass a directory you can create and write to",
        ) from exc
    rel = [str(p.relative_to(dest)) for p in written]
    for warning in _warnings(dest, handler):
        err_console.print(f"warning: {warning}", soft_wrap=True)
    if as_json:
        print_json({"project": spec.name, "directory": str(dest), "files": rel, "adopted": handler})
        return
    if handler is not None:
        console.print(f"adopted {handler} in {dest} as project {spec.name} (left unchanged);")
        console.print(f"the Dockerfile's CMD runs it: python -u {handler}")
        console.print("wrote:")
    else:
        console.print(f"created {spec.name} in {dest}:")
    for path in rel:
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
    console.print(f"next: cd into it, then {follow}")


def _warnings(dest: Path, handler: str | None) -> list[str]:
    """What will not work as written: a handler that does not parse, a workflow GitHub will
    not find (it reads .github/workflows at the repository's root only)."""
    found: list[str] = []
    if handler is not None:
        try:
            ast.parse((dest / handler).read_bytes(), filename=handler)
        except (SyntaxError, ValueError, OSError) as exc:
            where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) else ""
            found.append(
                f"{handler} does not parse as Python{where}: its tests and the worker fail "
                "until it does"
            )
    root = next((d for d in (dest, *dest.parents) if (d / ".git").exists()), None)
    if root is not None and root != dest:
        found.append(
            f"GitHub runs workflows only from {root / '.github' / 'workflows'}: move "
            f"{dest.relative_to(root) / '.github' / 'workflows' / 'deploy.yml'} there and run "
            f"its steps in {dest.relative_to(root)} (working-directory, build context)"
        )
    return found


def _resolved(directory: Path) -> Path:
    try:
        return directory.resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        raise ConfigError(
            f"{directory}: cannot follow the path ({exc})",
            hint="pass a directory, or a handler file, that the path really leads to",
        ) from exc
