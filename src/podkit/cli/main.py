"""Console entry point: everything printed passes the redaction filter, and Ctrl-C is exit 130.

The exit-code policy itself lives in `podkit.cli.dispatch`, imported inside `main()`, so that
Ctrl-C while the commands are still being imported is an interrupt like any other: one line
on stderr ("interrupted", unless the command already said more), with `--json` an error
document `{"error": {"kind": "Interrupted", ...}}` on stdout, exit 130 and no traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from podkit.cli import json_out
from podkit.errors import Interrupted
from podkit.redact import redacting

P = ParamSpec("P")
R = TypeVar("R")

EXIT_INTERRUPTED = 130  # podkit.cli.exit_codes.INTERRUPTED, without importing typer first


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
        from podkit.cli.dispatch import dispatch  # here: behind the Ctrl-C handler

        return dispatch(args)
    except Interrupted as exc:
        report_interrupt(args, said=exc.said)
    except KeyboardInterrupt:  # while the commands were still being imported
        report_interrupt(args, said=False)
    return EXIT_INTERRUPTED


def report_interrupt(args: list[str], *, said: bool) -> None:
    """Ctrl-C: one line on stderr unless the command `said` more; the `--json` document."""
    if not said:
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
    if "--json" in args:
        hint = "stderr says what the interrupt left behind" if said else None
        error = {"kind": "Interrupted", "message": "interrupted (Ctrl-C)", "hint": hint}
        sys.stdout.write(json_out.dumps({"error": error}))
        sys.stdout.write("\n")
        sys.stdout.flush()


def run() -> None:
    # Stay behind the filter after main(): a bug's traceback is printed on the way out.
    sys.stdout, sys.stderr = redacting(sys.stdout), redacting(sys.stderr)
    sys.exit(main())


if __name__ == "__main__":
    run()
