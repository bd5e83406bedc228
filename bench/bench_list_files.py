"""list_files on a 100,000-entry directory: first page and full walk, vs plain os.scandir.

The peer is what a ten-line handler does: `os.scandir` over everything, `lstat` each entry,
one response. podkit pages (1,000 entries), sorts, never follows links and checks every path.

    .venv/bin/python -m bench bench_list_files
"""

from __future__ import annotations

import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from podkit.worker.actions.list_files import ListFilesInput, list_files_sync
from podkit.worker.paths import Root, Roots

ENTRIES = 100_000


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _peak_mib(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def scandir_all(path: str) -> list[tuple[str, int]]:
    """The peer: every entry of a tree with its lstat size, in one list."""
    out: list[tuple[str, int]] = []
    stack = [path]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                out.append((entry.path, entry.stat(follow_symlinks=False).st_size))
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
    return out


def podkit_walk(roots: Roots, recursive: bool) -> int:
    """Every page of a listing; returns the entry count."""
    count, cursor = 0, None
    while True:
        params = ListFilesInput(path="/runpod-volume", recursive=recursive, cursor=cursor)
        out = list_files_sync(params, roots)
        count += out["total_files"] + out["total_directories"]
        cursor = out["next_cursor"]
        if cursor is None:
            return count


def _build(base: Path) -> tuple[Path, Path]:
    flat, nested = base / "flat", base / "nested"
    flat.mkdir()
    for i in range(ENTRIES):
        (flat / f"shard-{i:06d}.safetensors").touch()
    for d in range(100):
        sub = nested / f"model-{d:03d}"
        sub.mkdir(parents=True)
        for i in range(ENTRIES // 100 - 1):
            (sub / f"file-{i:04d}.bin").touch()
    return flat, nested


def _report(label: str, ours: float, peer: float) -> None:
    print(
        f"  {label:44s} podkit {ours:7.3f} s   os.scandir {peer:7.3f} s   ratio {ours / peer:6.2f}x"
    )


def main() -> None:
    """Print first-page and full-walk times and the first page's memory against os.scandir."""
    with tempfile.TemporaryDirectory() as tmp:
        flat, nested = _build(Path(tmp))
        flat_roots = Roots([Root("/runpod-volume", str(flat))])
        nested_roots = Roots([Root("/runpod-volume", str(nested))])
        first = ListFilesInput(path="/runpod-volume")
        print(f"list_files, {ENTRIES:,} entries (page size 1,000):")
        t_peer, _ = _timed(lambda: scandir_all(str(flat)))
        t_first, _ = _timed(lambda: list_files_sync(first, flat_roots))
        _report("first page of a flat directory", t_first, t_peer)
        t_walk, n = _timed(lambda: podkit_walk(flat_roots, recursive=False))
        _report(f"full walk, flat ({n:,} entries, 100 pages)", t_walk, t_peer)
        t_peer_n, _ = _timed(lambda: scandir_all(str(nested)))
        t_walk_n, n = _timed(lambda: podkit_walk(nested_roots, recursive=True))
        _report(f"full walk, 100 dirs x 999 files ({n:,}), recursive", t_walk_n, t_peer_n)
        m_first = _peak_mib(lambda: list_files_sync(first, flat_roots))
        m_peer = _peak_mib(lambda: scandir_all(str(flat)))
        print(
            f"  peak Python memory: first page {m_first:.1f} MiB, os.scandir list {m_peer:.1f} MiB"
        )


if __name__ == "__main__":
    main()
