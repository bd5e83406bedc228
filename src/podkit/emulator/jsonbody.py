"""Request bodies read as the platform reads them: strict JSON that any answer can carry back.

Python's `json` accepts more than JSON: `NaN`, `Infinity`, numbers beyond a double, and
strings with an unpaired UTF-16 surrogate (`"\\ud800"`). Stored, each of them breaks every later
answer that includes it (no JSON or UTF-8 encoder writes it), so they are refused up front, as
is nesting too deep to parse.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

# An escaped surrogate (one encoded directly makes the body non-ASCII, checked too).
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_EXACT = 2**53  # whole floats up to here are exact integers


def loads_strict(raw: bytes, *, whole_floats_as_int: bool = False) -> Any:
    """The JSON value of `raw` (empty: null); ValueError saying what is wrong.

    `whole_floats_as_int` reads `50.0` as `50`, as a typed server does for integer fields.
    """
    parse_float = _whole_or_float if whole_floats_as_int else _float
    try:
        value = json.loads(raw or b"null", parse_constant=_no_constant, parse_float=parse_float)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not raw.isascii() or _SURROGATE.search(raw):
        _check_text(value)
    return value


def _check_text(value: Any) -> None:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string holds an unpaired UTF-16 surrogate (\\ud800-\\udfff)") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is beyond a double")
    return value


def _whole_or_float(text: str) -> float | int:
    value = _float(text)
    return int(value) if value.is_integer() and abs(value) <= _EXACT else value
