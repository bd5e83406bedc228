"""One problem in podkit.toml (or on the command line), in the one shape every message has:

    podkit.toml:LINE:COL: key.path [env.NAME]: what is wrong, in words; the fix

All problems of a file are raised together, sorted by position, at most `MAX_SHOWN` of them.
A long value or key is shown by its first `CLIP_TO` characters and its length (never the
file's name).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from podkit.errors import ConfigError

MAX_SHOWN = 20
CLIP_TO = 60
# A value as `repr` quotes it: the opening quote starts the text or follows a space or an
# opening bracket, so the closing quote of one value is never read as the opening of the next
# (the prose between two short values is no value); escapes such as \' stay inside.
_OPENS = r"(?<![^\s(\[{=:,])"
_LONG_QUOTED = re.compile(
    rf"{_OPENS}'((?:[^'\\\n]|\\.){{{CLIP_TO + 1},}})'"
    rf'|{_OPENS}"((?:[^"\\\n]|\\.){{{CLIP_TO + 1},}})"'
)


def clip_values(text: str) -> str:
    """`'<first 60 characters>...' (5000 characters)` for each long quoted value of a message,
    so a pasted file or a runaway `--set` value cannot flood the terminal."""

    def clip(found: re.Match[str]) -> str:
        quoted = found.group(1) or found.group(2)
        quote = found.group(0)[0]
        return f"{quote}{quoted[:CLIP_TO]}...{quote} ({len(quoted)} characters)"

    return _LONG_QUOTED.sub(clip, text)


def clip_key(key: str) -> str:
    """A key path longer than a line: its first 60 characters and its length."""
    return key if len(key) <= CLIP_TO + 20 else f"{key[:CLIP_TO]}... ({len(key)} characters)"


@dataclass(frozen=True)
class Problem:
    """Where (`FILE:LINE:COL` or an option such as `--set`), which key, what, and the fix."""

    where: str
    line: int
    col: int
    key: str
    what: str
    fix: str
    scope: str = ""

    def __str__(self) -> str:
        key = clip_key(self.key)
        head = f"{self.where}: {key}{self.scope}: " if key else f"{self.where}: "
        return head + clip_values(f"{self.what}; {self.fix}")

    @property
    def identity(self) -> tuple[str, str, str]:
        """Two problems with the same identity are one (an error of the base file that every
        environment inherits is reported once)."""
        return (self.where, self.key, self.what)


def raise_all(file: Path, problems: Iterable[Problem]) -> None:
    """Raise one ConfigError listing every distinct problem, in file order; no-op if none.

    A problem of the base file that the environments inherit is shown without an
    `[env.NAME]` scope, whichever environment was validated first."""
    seen: dict[tuple[str, str, str], Problem] = {}
    for problem in problems:
        known = seen.get(problem.identity)
        if known is None or (known.scope and not problem.scope):
            seen[problem.identity] = problem
    if not seen:
        return
    ordered = sorted(seen.values(), key=lambda p: (p.line, p.col, p.key))
    lines = [str(p) for p in ordered[:MAX_SHOWN]]
    if len(ordered) > MAX_SHOWN:
        lines.append(f"... and {len(ordered) - MAX_SHOWN} more problems after these")
    count = f"{len(ordered)} problems" if len(ordered) > 1 else "the problem"
    raise ConfigError("\n".join(lines), hint=f"fix {count} above in {file} (see docs/config.md)")
