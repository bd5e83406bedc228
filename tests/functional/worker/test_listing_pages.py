"""Paging a large directory on a real filesystem: complete, ordered, and aware of changes."""

from __future__ import annotations

from pathlib import Path

from podkit.worker.actions.list_files import ListFilesInput, list_files_sync
from podkit.worker.listing import SNAPSHOT_MIN
from podkit.worker.paths import Root, Roots


def _page_all(roots: Roots, **kw: object) -> list[str]:
    names: list[str] = []
    cursor = None
    while True:
        out = list_files_sync(ListFilesInput(path="/runpod-volume", cursor=cursor, **kw), roots)
        names += [e["path"] for e in out["directories"] + out["files"]]
        cursor = out["next_cursor"]
        if cursor is None:
            return names


def test_large_directory_pages_completely_and_sees_changes(tmp_path: Path) -> None:
    count = SNAPSHOT_MIN + 10
    for i in range(count):
        (tmp_path / f"{i:06d}").touch()
    roots = Roots([Root("/runpod-volume", str(tmp_path))])
    names: list[str] = []
    cursor = None
    for page in range(10):
        params = ListFilesInput(path="/runpod-volume", limit=2000, cursor=cursor)
        out = list_files_sync(params, roots)
        names += [f["name"] for f in out["files"]]
        cursor = out["next_cursor"]
        if page == 1:  # the second page made a snapshot; a new file must still show up
            (tmp_path / "zzz").touch()
        if cursor is None:
            break
    assert names == sorted(names)
    assert names == [f"{i:06d}" for i in range(count)] + ["zzz"]


def test_recursive_paging_with_tiny_pages_matches_one_big_page(tmp_path: Path) -> None:
    for d in ("a", "a/b", "a/b/c", "d", "e"):
        (tmp_path / d).mkdir()
        for f in ("1", "2"):
            (tmp_path / d / f).touch()
    roots = Roots([Root("/runpod-volume", str(tmp_path))])
    small = _page_all(roots, recursive=True, limit=1)
    big = _page_all(roots, recursive=True, limit=1000)
    assert sorted(small) == sorted(big)
    assert len(small) == len(set(small)) == 15
