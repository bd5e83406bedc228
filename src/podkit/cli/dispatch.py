"""Run one command line through the typer app and turn what it raised into an exit code.

0: success. 1: a `PodkitError` (one actionable message, no traceback) or a usage error (an
unknown option, a bad value): Terraform's convention, so 2 only ever means "the plan has
changes". Commands add their own codes (see `podkit.cli.exit_codes`). Anything else is a
bug and shows its traceback. With `--json`, an error of either kind is also written to
stdout as `{"error": {...}}`, so a script that parses stdout gets a document on failure too.
Ctrl-C is 130 (`podkit.cli.main` says so); the commands' imports live here, behind it.
"""

from __future__ import annotations

import typer
from rich.markup import escape
from typer._click.exceptions import ClickException

from podkit.cli import exit_codes
from podkit.cli.app import app
from podkit.cli.console import err_console, print_json
from podkit.errors import Interrupted, PodkitError


def report(exc: PodkitError) -> None:
    """Print a PodkitError as one actionable line plus its hint."""
    # Never wrapped: each problem stays one `FILE:LINE:COL: key: ...` line for editors and CI.
    err_console.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
    if exc.hint:
        err_console.print(f"  [yellow]hint:[/] {escape(exc.hint)}", soft_wrap=True)


def report_json(exc: PodkitError) -> None:
    """The same error as a JSON document on stdout, for `--json` callers."""
    print_json({"error": {"kind": type(exc).__name__, "message": exc.message, "hint": exc.hint}})


def report_usage_json(exc: ClickException) -> None:
    """A usage error as the same JSON document, kind `UsageError`."""
    ctx = getattr(exc, "ctx", None)
    hint = f"see `{ctx.command_path} --help`" if ctx is not None else "see `podkit --help`"
    print_json({"error": {"kind": "UsageError", "message": exc.format_message(), "hint": hint}})


def dispatch(args: list[str]) -> int:
    """Run the command line `args`; its exit code. Ctrl-C comes back as `Interrupted`."""
    try:
        result = app(args=args, prog_name="podkit", standalone_mode=False)
    except PodkitError as exc:
        report(exc)
        if "--json" in args:
            report_json(exc)
        return exit_codes.ERROR
    except typer.Exit as exc:
        result = exc.exit_code
    except ClickException as exc:
        exc.show()
        if "--json" in args:
            report_usage_json(exc)
        return exit_codes.ERROR
    except typer.Abort:  # end of input at a prompt
        err_console.print("aborted")
        raise Interrupted(said=True) from None
    if result == exit_codes.INTERRUPTED:
        # typer turns a Ctrl-C that no command caught into a silent 130.
        raise Interrupted(said=False)
    return result if isinstance(result, int) else exit_codes.SUCCESS
