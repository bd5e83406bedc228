"""Where a key sits in a TOML file: key path -> 1-based (line, column).

tomllib gives values, not positions, so this scans the text the way TOML reads it: table
headers (`[a.b]`, `[[a.b]]` with a running index), dotted and quoted keys, inline tables on
one line, and multi-line strings skipped. A path that has no line of its own resolves to its
nearest ancestor that has one (the table header or the inline table's line).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Path = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'))*)\s*="""
)
_INLINE_KEY = re.compile(r"""([A-Za-z0-9_\-]+|"[^"]*")\s*=""")


def _split_dotted(text: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'""", text)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


class KeyLocator:
    """Maps key paths of one TOML document to (line, column) positions."""

    def __init__(self, text: str) -> None:
        self.positions: dict[Path, tuple[int, int]] = {}
        self._scan(text)

    @property
    def lines(self) -> dict[Path, int]:
        return {path: line for path, (line, _) in self.positions.items()}

    def _scan(self, text: str) -> None:
        prefix: Path = ()
        array_counts: dict[Path, int] = {}
        in_multiline: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if in_multiline:
                if line.count(in_multiline) % 2 == 1:
                    in_multiline = None
                continue
            header = _HEADER.match(line)
            if header:
                path: Path = tuple(_split_dotted(header.group(2)))
                if header.group(1) == "[[":
                    index = array_counts.get(path, -1) + 1
                    array_counts[path] = index
                    path = (*path, index)
                prefix = path
                self._record(path, (number, line.index("[") + 1))
                continue
            key = _KEY.match(line)
            if key:
                path = (*prefix, *_split_dotted(key.group(1)))
                self._record(path, (number, key.start(1) + 1))
                rest = line[key.end() :]
                if rest.lstrip().startswith("{"):
                    for inner in _INLINE_KEY.finditer(rest):
                        name = inner.group(1).strip('"')
                        column = key.end() + inner.start(1) + 1
                        self.positions.setdefault((*path, name), (number, column))
                for quote in ('"""', "'''"):
                    if rest.count(quote) % 2 == 1:
                        in_multiline = quote

    def _record(self, path: Path, position: tuple[int, int]) -> None:
        """Record `path` and the tables it implicitly defines (its ancestors)."""
        for end in range(1, len(path) + 1):
            self.positions.setdefault(path[:end], position)

    def position_of(self, path: Sequence[str | int]) -> tuple[int, int] | None:
        """(line, column) of `path`, or of its nearest ancestor that has one."""
        candidate = tuple(path)
        while candidate:
            if candidate in self.positions:
                return self.positions[candidate]
            candidate = candidate[:-1]
        return None

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        position = self.position_of(path)
        return position[0] if position else None
