"""How `--help` shows options: a flag as a flag (no `<bool>` value column), every default.

typer renders a boolean flag with a `<bool>` type, which reads as if it took a value
(`--json true` is then refused); flags take none, so they show no type at all.
"""

from __future__ import annotations

from typer import _click
from typer.core import TyperOption

_display_type = TyperOption.display_type_rich


def _flag_aware(self: TyperOption, ctx: _click.Context) -> str | None:
    return None if self.is_flag else _display_type(self, ctx)


def install() -> None:
    """Use the flag-aware rendering (idempotent)."""
    TyperOption.display_type_rich = _flag_aware  # type: ignore[method-assign]


CONTEXT_SETTINGS = {"show_default": True}
