"""The typer application; each command group lives in its own module."""

from __future__ import annotations

import typer

from podkit import __version__
from podkit.cli import help_format

help_format.install()
app = typer.Typer(
    name="podkit",
    help="From a GPU worker repo to a verified RunPod Serverless endpoint.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=help_format.CONTEXT_SETTINGS,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"podkit {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """podkit: plan, apply, verify and roll back RunPod Serverless deployments."""


# Command groups register themselves below, one import each.
from podkit.cli import ci as _ci  # noqa: E402
from podkit.cli import deploy as _deploy  # noqa: E402, F401  (plan, apply, rollback, destroy, status)
from podkit.cli import emulator as _emulator  # noqa: E402
from podkit.cli import history as _history  # noqa: E402, F401  (history)
from podkit.cli import init as _init  # noqa: E402, F401
from podkit.cli import jobs, observe, smoke  # noqa: E402, F401  (run, job, test, logs, health)
from podkit.cli import lock as _lock  # noqa: E402, F401  (unlock)
from podkit.cli import models as _models  # noqa: E402
from podkit.cli import request as _request  # noqa: E402, F401  (request)

app.add_typer(_ci.app)
app.add_typer(_emulator.app)
app.add_typer(_models.app)

from podkit.cli.exit_codes import document as _document_exit_codes  # noqa: E402

_document_exit_codes(app)
