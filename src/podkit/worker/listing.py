"""Paged, sorted directory listings that never follow a symbolic link.

Order: a depth-first walk with the entries of each directory sorted by name, each directory
before its contents. The cursor is the position (the relative path) of the last entry returned,
so a page costs one scan of the directories on its way but keeps only `limit + 1` entries in
memory, whatever the size of the directory. Links are reported as `symlink` entries and never
followed; sub-directories are opened relative to their parent's fd with `O_NOFOLLOW`.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
import os
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

from podkit.errors import WorkerInputError

_SUBDIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_BY_NAME = attrgetter("name")
Key = tuple[str, ...]


@dataclass(frozen=True)
class ListingSpec:
    """What to list: the virtual path, depth (1 = the directory's own entries) and page size."""

    path: str
    max_depth: int
    limit: int


def encode_cursor(spec: ListingSpec, key: Key) -> str:
    """An opaque cursor pointing just after `key` in the listing `spec`."""
    raw = json.dumps({"v": 1, "p": spec.path, "d": spec.max_depth, "k": list(key)})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(spec: ListingSpec, cursor: str) -> Key:
    """The position a cursor from `encode_cursor` names; refused if it belongs elsewhere."""
    bad = WorkerInputError(
        "field 'cursor' is not a cursor from this listing (same path, recursive and max_depth)",
        hint="send the request again without 'cursor' to start from the first page",
    )
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise bad from None
    if not isinstance(data, dict) or data.get("v") != 1:
        raise bad
    key = data.get("k")
    if data.get("p") != spec.path or data.get("d") != spec.max_depth or not isinstance(key, list):
        raise bad
    if not key or not all(
        isinstance(k, str) and k and "/" not in k and "\x00" not in k for k in key
    ):
        raise bad
    return tuple(key)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Walker:
    spec: ListingSpec
    want: int
    out: list[tuple[Key, os.DirEntry[str], os.stat_result]] = field(default_factory=list)

    def walk(self, fd: int, rel: Key, depth: int, after: Key | None) -> None:
        need = self.want - len(self.out) + 1
        low = after[0] if after else None
        with os.scandir(fd) as it:
            picked = heapq.nsmallest(
                need, (e for e in it if low is None or e.name >= low), key=_BY_NAME
            )
        for entry in picked:
            if len(self.out) >= self.want:
                return
            at_cursor = after is not None and entry.name == after[0]
            if not at_cursor:
                self._emit(rel, entry)
            deeper = after[1:] if at_cursor and after is not None and len(after) > 1 else None
            if depth < self.spec.max_depth and entry.is_dir(follow_symlinks=False):
                self._descend(fd, (*rel, entry.name), depth, deeper)

    def _emit(self, rel: Key, entry: os.DirEntry[str]) -> None:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            return  # vanished since the scan
        self.out.append(((*rel, entry.name), entry, st))

    def _descend(self, fd: int, rel: Key, depth: int, after: Key | None) -> None:
        try:
            child = os.open(rel[-1], _SUBDIR_FLAGS, dir_fd=fd)
        except OSError:
            return  # replaced by a link or a file, or unreadable: never followed
        try:
            self.walk(child, rel, depth + 1, after)
        finally:
            os.close(child)


def display(text: str) -> str:
    """`text` made valid UTF-8 for JSON: undecodable bytes in names show as `\\xNN`."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")
    return text


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "file" if stat.S_ISREG(mode) else "other"


def list_page(fd: int, spec: ListingSpec, cursor: str | None) -> dict[str, Any]:
    """One page of the listing of the directory open at `fd`, in the issue's output shape."""
    after = decode_cursor(spec, cursor) if cursor else None
    walker = _Walker(spec, spec.limit + 1)
    walker.walk(fd, (), 1, after)
    entries = walker.out[: spec.limit]
    more = len(walker.out) > spec.limit
    directories: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    prefix = display(spec.path.rstrip("/"))
    for key, entry, st in entries:
        item = {"name": display(entry.name), "path": f"{prefix}/{display('/'.join(key))}"}
        kind = _kind(st.st_mode)
        if kind == "directory":
            directories.append({**item, "type": kind})
        else:
            files.append({**item, "size": st.st_size, "type": kind, "modified": _iso(st.st_mtime)})
    return {
        "status": "success",
        "path": display(spec.path),
        "directories": directories,
        "files": files,
        "total_files": len(files),
        "total_directories": len(directories),
        "next_cursor": encode_cursor(spec, entries[-1][0]) if more else None,
    }
