"""Bytes -> TOML document, with every way that can fail told in words at its line and column.

Encoding problems (binary data, UTF-16, another 8-bit encoding, a file far too large) and TOML
syntax errors become one `ConfigError` that names the spot, the table and key being read, and
the likely fix: close the string, straight quotes, an inline table on one line, the missing `]`.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

from podkit.errors import ConfigError

MAX_BYTES = 1024 * 1024  # a podkit.toml is a few KB; anything this large is the wrong file
_WHERE = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)$")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]\[]*?)\s*\]?\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*([A-Za-z0-9_\-."' ]+?)\s*=""")
_BARE = re.compile(r"^\s*([A-Za-z0-9_\-.]+)")
_BARE_CR = re.compile(r"\r(?!\n)")
_CURLY = "\u201c\u201d\u2018\u2019"
UTF8_FIX = "save the file as UTF-8 text (in most editors: Save As, encoding UTF-8)"


def read_text(file: Path) -> str:
    """The file's text; ConfigError for a missing, unreadable, binary or non-UTF-8 file, and for
    one that is not a regular file (a FIFO would wait for ever, /dev/zero never ends)."""
    try:
        data = read_at_most(file, MAX_BYTES)
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no such file", hint="run `podkit init` to create one, or pass --config PATH"
        ) from None
    except NotAFile as exc:
        raise ConfigError(
            f"{file}: {exc.kind}, not a file; check that --config names your podkit.toml"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read it ({exc.strerror}); check --config") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(
            f"{file}:1:1: the file is larger than {MAX_BYTES // 2**20} MiB, far more than a "
            "podkit.toml holds (a few KB); check that --config names your podkit.toml"
        )
    return _decode(file, data)


class NotAFile(OSError):
    """The path names a directory, a FIFO, a device or a socket: nothing to read a file from."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def read_at_most(file: Path, limit: int) -> bytes:
    """The first `limit + 1` bytes of a regular file (more than `limit` says "too large"),
    never blocking on a FIFO; NotAFile for anything but a regular file, OSError otherwise."""
    fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFile(_kind_of(mode))
    except OSError:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit + 1)


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else "not a regular file"


def _decode(file: Path, data: bytes) -> str:
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        raise ConfigError(f"{file}:1:1: the file is UTF-32 text, not UTF-8; {UTF8_FIX}")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ConfigError(f"{file}:1:1: the file is UTF-16 text, not UTF-8; {UTF8_FIX}")
    if b"\x00" in data:
        line, col = _spot(data, data.index(b"\x00"))
        raise ConfigError(
            f"{file}:{line}:{col}: the file holds binary data, not text; check that --config "
            f"names your podkit.toml and {UTF8_FIX}"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _spot(data, exc.start)
        raise ConfigError(
            f"{file}:{line}:{col}: byte 0x{data[exc.start]:02x} is not UTF-8 (the file was "
            f"saved in another encoding); {UTF8_FIX}"
        ) from None


def _spot(data: bytes, offset: int) -> tuple[int, int]:
    before = data[:offset]
    return before.count(b"\n") + 1, offset - (before.rfind(b"\n") + 1) + 1


def parse_toml(file: Path, text: str) -> dict[str, Any]:
    """The TOML document; ConfigError naming line, column, key and the fix otherwise."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        bare = _BARE_CR.search(text)
        if bare is not None:
            raise ConfigError(_bare_cr(file, text, bare.start())) from None
        raise ConfigError(_syntax_message(file, text, str(exc))) from None
    except RecursionError:
        raise ConfigError(_too_deep(file, text)) from None


def _bare_cr(file: Path, text: str, offset: int) -> str:
    """A carriage return without a line feed (classic Mac OS line endings): TOML reads no
    line break from it and allows it nowhere, so the whole file is one bad line to it."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return (
        f"{file}:{line}:{col}: not valid TOML: a carriage return (CR) without a line feed, "
        "which TOML reads as no line break; save the file with LF (Unix) or CRLF (Windows) "
        "line endings, and write a CR inside a string as \\r"
    )


def _too_deep(file: Path, text: str) -> str:
    """Lists or tables nested hundreds deep: the parser gives up; name the deepest line."""
    lines = text.splitlines() or [""]
    line = max(range(1, len(lines) + 1), key=lambda n: _openers(lines[n - 1]))
    return (
        f"{file}:{line}:1: {_key_at(lines, line)}: not valid TOML: lists or tables are nested "
        "too deeply to read; no podkit.toml value is nested that deep, so check the brackets "
        "on that line"
    )


def _openers(line: str) -> int:
    return line.count("[") + line.count("{")


def _syntax_message(file: Path, text: str, error: str) -> str:
    lines = text.splitlines() or [""]
    where = _WHERE.search(error)
    reason = error[: where.start()] if where else error
    if where and where.group(1):
        line, col = int(where.group(1)), int(where.group(2))
    else:
        line, col = len(lines), len(lines[-1]) + 1
    if _opens_late(lines, line, col):
        opened = lines[line - 2]
        reason = "Unclosed inline table" if opened.count("{") > opened.count("}") else reason
        reason = "Unclosed array" if opened.count("[") > opened.count("]") else reason
    if reason in ("Unclosed array", "Unclosed inline table"):
        line, col = _opener(lines, line)
    key = _key_at(lines, line)
    what, fix = _explain(reason, lines[line - 1] if line <= len(lines) else "")
    return f"{file}:{line}:{col}: {key}: not valid TOML: {what}; {fix}"


def _opens_late(lines: list[str], line: int, col: int) -> bool:
    """An error at the start of a statement after a line that left a `[` or `{` open."""
    if line < 2 or line > len(lines):
        return False
    current = lines[line - 1][: col - 1].strip()
    return current == "" and _unbalanced(lines[line - 2])


def _unbalanced(line: str) -> bool:
    code = re.sub(r'"[^"]*"|\'[^\']*\'', "", line).split("#", 1)[0]
    return code.count("[") > code.count("]") or code.count("{") > code.count("}")


def _opener(lines: list[str], line: int) -> tuple[int, int]:
    """The line (and column) of the statement that opened the unclosed list or table."""
    for number in range(min(line, len(lines)), 0, -1):
        text = lines[number - 1]
        if _KEY.match(text) and _unbalanced(text):
            return number, len(text) - len(text.lstrip()) + 1
    return line, 1


def _key_at(lines: list[str], line: int) -> str:
    """The dotted key being read at `line`: the table header above it plus the line's key."""
    table = ""
    for number in range(1, min(line, len(lines)) + 1):
        text = lines[number - 1]
        header = _HEADER.match(text)
        if header and text.lstrip().startswith("["):
            table = _clean(header.group(1))
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    match = _KEY.match(text) or _BARE.match(text)
    key = _clean(match.group(1)) if match and not text.lstrip().startswith("[") else ""
    if table and key:
        return f"{table}.{key}"
    return table or key or "(top level)"


def _clean(dotted: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in dotted.split("."))


# tomllib's reason (its start) -> what is wrong, in words, and the likely fix.
_REASONS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("Illegal character", "Unterminated string"),
        "the string is not closed on its line",
        'close it with " on the same line (use """ for text over several lines)',
    ),
    (
        ("Unescaped '\\'",),
        'a backslash in "..." starts an escape',
        "use single quotes ('C:\\path') for a literal string, or double the backslash",
    ),
    (
        ("Unclosed array",),
        "the list is not closed",
        "close it with ] and separate the items with commas",
    ),
    (
        ("Unclosed inline table", "Invalid initial character for a key part"),
        "an inline table { ... } must stay on one line",
        "put it on one line, or write it as a [table] with one key per line",
    ),
    (
        ("Cannot overwrite", "Cannot declare", "Duplicate inline table key"),
        "this key or table is set twice",
        "keep one of them and delete the other",
    ),
    (("Expected ']",), "the table header is not closed", "close it with ] (or ]] for [[...]])"),
    (
        ("Expected '='",),
        "a key without '='",
        "write key = value, with the value quoted if it is text",
    ),
    (
        ("Invalid value",),
        "the value is not a TOML value",
        'quote text ("..."), write true/false in lowercase and numbers without units',
    ),
)


def _explain(reason: str, line_text: str) -> tuple[str, str]:
    if any(quote in line_text for quote in _CURLY):
        return (
            "curly quotes are not TOML quotes",
            'type straight quotes ("...") instead of the curly ones an editor put in',
        )
    if '"""' in line_text or "'''" in line_text:
        return "the multi-line string is never closed", "close it with \"\"\" (or ''')"
    for starts, what, fix in _REASONS:
        if reason.startswith(starts):
            return what, fix
    return reason[:1].lower() + reason[1:], "check the quotes and brackets at that spot"
