"""The one console object every command prints through, behind the redaction filter.

Text is scrubbed (`podkit.redact`) before rich parses markup and wraps lines, so a secret
is never split across lines where a later filter could miss it; what rich finally writes
is scrubbed once more on its way to the stream.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import IO, Any

import typer
from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Text

from podkit.cli import json_out
from podkit.errors import PodkitError
from podkit.redact import redacting, scrub


class RedactingConsole(Console):
    """A rich Console whose strings, texts and output stream are all scrubbed."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(scrub(text), **kwargs)

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        if isinstance(renderable, Text):
            clean = scrub(renderable.plain)
            if clean != renderable.plain:
                renderable = Text(clean, style=renderable.style, end=renderable.end)
        return super().render(renderable, options)

    @property
    def file(self) -> IO[str]:
        return redacting(super().file)

    @file.setter
    def file(self, new_file: IO[str]) -> None:
        self._file = new_file


console = RedactingConsole(highlight=False)
err_console = RedactingConsole(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    """Print machine-readable output on stdout, unstyled (and scrubbed)."""
    console.out(json_out.dumps(data), highlight=False)


def confirm(question: str, yes: bool, refusal: type[PodkitError]) -> None:
    """Ask `question` on stderr (stdout stays for `--json`); "no" exits 1. With no terminal
    to ask on, refuse with `refusal` naming --yes, before anything is done."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise refusal(
            f"{question} needs confirmation and stdin is not a terminal",
            hint="pass --yes to confirm non-interactively (CI)",
        )
    if not typer.confirm(question, default=False, err=True):
        raise typer.Exit(1)
