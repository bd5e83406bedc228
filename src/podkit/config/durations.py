"""Human durations ("90s", "10m", "1h30m", "2d") and their bounds."""

from __future__ import annotations

import math
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$")

DURATION_HELP = 'a number of seconds or a duration such as "90s", "10m", "1h30m", "2d"'
DURATION_FIX = "write plain seconds (90) or a number with a unit: 90s, 10m, 1h, 1h30m, 2d"


def _kind(value: object) -> str:
    return (
        "a list" if isinstance(value, list) else "a table" if isinstance(value, dict) else "a date"
    )


def parse_duration(value: object) -> float:
    """Seconds from an int/float (seconds) or a duration string; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is not a duration; {DURATION_FIX}")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an int beyond any float
            seconds = math.inf
    elif isinstance(value, str):
        compact = value.replace(" ", "").lower()
        if not _WHOLE.match(compact):
            raise ValueError(f"{value!r} is not a duration; {DURATION_FIX}")
        seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(compact))
    else:
        raise ValueError(f"{_kind(value)} is not a duration; {DURATION_FIX}")
    if not math.isfinite(seconds):
        raise ValueError(f"{_shown(value)} is not a finite duration; {DURATION_FIX}")
    if seconds < 0:
        raise ValueError(f"{value!r} is negative; a duration is 0 or more ({DURATION_FIX})")
    return seconds


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-8:]} ({len(text)} characters)"


def format_duration(seconds: float) -> str:
    """The shortest exact rendering: 3600 -> "1h", 5400 -> "1h30m", 0.5 -> "500ms"."""
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    out = []
    remaining = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out) or "0s"
