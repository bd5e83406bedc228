"""Paged, sorted directory listings that never follow a symbolic link.

Order: a depth-first walk with the entries of each directory sorted by name, each directory
before its contents. The cursor is the position (the relative path) of the last entry returned.
A response holds at most `limit` entries. A first page streams each directory through a
heap of `limit + 1` names. Later pages sort the directory's names once (not their metadata)
and keep that snapshot a short while, so paging through 100,000 entries costs one sort, not
one per page; directories over `SNAPSHOT_MAX` entries are always streamed. Links are reported
as `symlink` entries and never followed; sub-directories are opened relative to their
parent's fd with `O_NOFOLLOW`.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import heapq
import json
import os
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
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
    except (ValueError, binascii.Error, UnicodeError, RecursionError):
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


Child = tuple[str, bool]  # (name, is a directory without following links)
SNAPSHOT_MIN = 5_000  # smaller directories are simply scanned again for each page
SNAPSHOT_MAX = 1_000_000  # larger ones are streamed through a bounded heap instead
SNAPSHOT_TTL_S = 60.0
SNAPSHOTS_KEPT = 4


class SnapshotCache:
    """Sorted child names of recently paged large directories, so page N is not O(N pages).

    Only pages after the first use a snapshot (the first always scans afresh), and a snapshot
    is dropped when the directory's mtime/ctime change or after `SNAPSHOT_TTL_S`.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._items: OrderedDict[tuple[int, ...], tuple[float, list[Child]]] = OrderedDict()
        self._lock = threading.Lock()  # jobs list in threads of their own, at once

    def get(self, key: tuple[int, ...]) -> list[Child] | None:
        """The snapshot for `key` if it is fresh."""
        with self._lock:
            item = self._items.get(key)
            if item is None or self._clock() - item[0] > SNAPSHOT_TTL_S:
                self._items.pop(key, None)
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: tuple[int, ...], children: list[Child]) -> None:
        """Keep `children` for `key`, dropping the oldest snapshot beyond `SNAPSHOTS_KEPT`."""
        with self._lock:
            self._items[key] = (self._clock(), children)
            self._items.move_to_end(key)
            while len(self._items) > SNAPSHOTS_KEPT:
                self._items.popitem(last=False)


SNAPSHOTS = SnapshotCache()


def _dir_key(fd: int) -> tuple[int, ...]:
    st = os.fstat(fd)
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


def _scan_all(fd: int) -> list[Child] | None:
    """Every child, sorted; None when there are more than `SNAPSHOT_MAX`."""
    children: list[Child] = []
    with os.scandir(fd) as it:
        for entry in it:
            children.append((entry.name, entry.is_dir(follow_symlinks=False)))
            if len(children) > SNAPSHOT_MAX:
                return None
    children.sort()
    return children


def _stream_smallest(fd: int, low: str | None, need: int) -> list[Child]:
    with os.scandir(fd) as it:
        picked = heapq.nsmallest(
            need, (e for e in it if low is None or e.name >= low), key=_BY_NAME
        )
        return [(e.name, e.is_dir(follow_symlinks=False)) for e in picked]


def children_from(fd: int, low: str | None, need: int, *, paging: bool) -> list[Child]:
    """The first `need` children of the directory at `fd` whose names are >= `low`, sorted."""
    if not paging:
        return _stream_smallest(fd, low, need)  # a first page: O(limit) memory, no snapshot
    key = _dir_key(fd)
    children = SNAPSHOTS.get(key)
    if children is None:
        children = _scan_all(fd)
        if children is None:
            return _stream_smallest(fd, low, need)
        if len(children) >= SNAPSHOT_MIN:
            SNAPSHOTS.put(key, children)
    start = bisect.bisect_left(children, (low, False)) if low is not None else 0
    return children[start : start + need]


@dataclass
class _Walker:
    spec: ListingSpec
    want: int
    out: list[tuple[Key, os.stat_result]] = field(default_factory=list)

    def walk(self, fd: int, rel: Key, depth: int, after: Key | None) -> None:
        need = self.want - len(self.out) + 1
        low = after[0] if after else None
        for name, is_dir in children_from(fd, low, need, paging=after is not None):
            if len(self.out) >= self.want:
                return
            at_cursor = after is not None and name == after[0]
            if not at_cursor:
                self._emit(fd, (*rel, name))
            deeper = after[1:] if at_cursor and after is not None and len(after) > 1 else None
            if depth < self.spec.max_depth and is_dir:
                self._descend(fd, (*rel, name), depth, deeper)

    def _emit(self, fd: int, key: Key) -> None:
        try:
            st = os.stat(key[-1], dir_fd=fd, follow_symlinks=False)
        except OSError:
            return  # vanished since the scan
        self.out.append((key, st))

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
    for key, st in entries:
        item = {"name": display(key[-1]), "path": f"{prefix}/{display('/'.join(key))}"}
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
