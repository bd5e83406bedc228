"""Files that would land on each other: two `[[models]]` entries putting a file at one path,
or a file where another entry (or another object of the same source: S3 holds `a` and `a/b`
side by side) needs a folder. Found once every entry is listed, before anything is written,
and refused naming both sides, rather than one overwriting the other or failing half-way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from podkit.errors import TransferError

_HINT = "give the entries different destinations, or leave the file out of one (exclude)"


def refuse_overlaps(placed: Sequence[tuple[str, Path, Iterable[str]]]) -> None:
    """`placed`: per entry its label, its destination folder and the relative paths of its
    files; TransferError if two of them collide."""
    owners: dict[str, int] = {}  # final path -> the index of the entry that puts it there
    for index, (_, dest, paths) in enumerate(placed):
        base = os.fspath(dest)
        for path in paths:
            final = f"{base}/{path}"
            first = owners.setdefault(final, index)
            if first != index:
                raise TransferError(
                    f"two [[models]] entries put a file at {final}: {placed[first][0]} and "
                    f"{placed[index][0]}",
                    hint=_HINT,
                )
    folders: set[str] = set()
    for final in owners:
        folder = final.rpartition("/")[0]
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    clashes = sorted(folders.intersection(owners))
    if clashes:
        final = clashes[0]
        inside = min(path for path in owners if path.startswith(f"{final}/"))
        raise TransferError(
            f"{placed[owners[final]][0]} puts a file at {final}, where "
            f"{placed[owners[inside]][0]} puts a folder (for {inside})",
            hint=_HINT,
        )
