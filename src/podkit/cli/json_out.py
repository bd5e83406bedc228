"""How `--json` documents are written: indented, or one per line for a command whose output is
JSON Lines (`podkit logs --json`), where an error or interrupt document must be one line too
for a reader that parses line by line."""

from __future__ import annotations

import json
from typing import Any

from podkit.redact import scrub_data

_one_per_line = False


def one_per_line() -> None:
    """From here on (this command), every JSON document is written on one line."""
    global _one_per_line
    _one_per_line = True


def dumps(data: Any) -> str:
    """`data` as a JSON document, scrubbed, keys sorted, in this command's style."""
    indent = None if _one_per_line else 2
    return json.dumps(scrub_data(data), indent=indent, sort_keys=True, default=str)
