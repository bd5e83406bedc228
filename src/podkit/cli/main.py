"""Console entry point and the one exit-code policy.

0: success. 1: a `PodkitError` (one actionable message, no traceback) or a usage error (an
unknown option, a bad value): Terraform's convention, so 2 only ever means "the plan has
changes". Commands add their own codes (see `podkit.cli.exit_codes`). Anything else is a
bug and shows its traceback. With `--json`, an error of either kind is also written to
stdout as `{"error": {...}}`, so a script that parses stdout gets a document on failure too.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.markup import escape
from typer._click.exceptions import ClickException

from podkit.cli import exit_codes
from podkit.cli.app import app
from podkit.cli.console import err_console, print_json
from podkit.errors import PodkitError
from podkit.redact import redacting

P = ParamSpec("P")
R = TypeVar("R")


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


def redacted_output(run: Callable[P, R]) -> Callable[P, R]:
    """Run with stdout and stderr behind `podkit.redact` (click, typer, tracebacks too)."""

    @functools.wraps(run)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = redacting(sys.stdout), redacting(sys.stderr)
        try:
            return run(*args, **kwargs)
        finally:
            sys.stdout, sys.stderr = saved

    return wrapper


@redacted_output
def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; all it prints passes the redaction filter."""
    args = sys.argv[1:] if argv is None else argv
    try:
        result = app(args=args, prog_name="podkit", standalone_mode=False)
    except PodkitError as exc:
        report(exc)
        if "--json" in args:
            report_json(exc)
        return 1
    except typer.Exit as exc:
        return exc.exit_code
    except ClickException as exc:
        exc.show()
        if "--json" in args:
            report_usage_json(exc)
        return exit_codes.ERROR
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        return 130
    return result if isinstance(result, int) else 0


def run() -> None:
    # Stay behind the filter after main(): a bug's traceback is printed on the way out.
    sys.stdout, sys.stderr = redacting(sys.stdout), redacting(sys.stderr)
    sys.exit(main())


if __name__ == "__main__":
    run()
