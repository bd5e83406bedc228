"""The one console object every command prints through."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    """Print machine-readable output on stdout, unstyled."""
    console.out(json.dumps(data, indent=2, sort_keys=True, default=str), highlight=False)
