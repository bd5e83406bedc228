"""Chunk journals: which fixed-size chunks of a temp file are written and their crc32c.

A ranged download of `dir/name` writes `dir/.name.<tag>.incomplete` and records finished
chunks in `dir/.name.<tag>.journal` (replaced atomically after each chunk). A later run
adopts the journal of a dead owner by renaming it (only one claimant can win a rename),
keeps its verified chunks and fetches the rest. Journals for another version are discarded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from glob import escape as glob_escape
from pathlib import Path

from podkit.worker.transfer.owner import Owner, owner_alive, tag_alive

TEMP_SUFFIX = ".incomplete"
JOURNAL_SUFFIX = ".journal"
SCRATCH_SUFFIX = ".w"
NAME_MAX = 255  # bytes in one path component (Linux, and the filesystems volumes use)
# What a side file adds to a file's name at most: `.{name}.{tag}.journal.w` adds 43 bytes,
# a lease's own temp (`.{.name.podkit-lease}.{tag}.incomplete`) 58.
SIDE_ROOM = 64


def side_stem(name: str) -> str:
    """The part of a side file's name (temp, journal, lease) that stands for the file `name`:
    the name itself, or for one too long to take the additions within `NAME_MAX`, its start
    and a digest of the whole (the same every time, so a later run finds the journal)."""
    if len(name) * 4 + SIDE_ROOM <= NAME_MAX:  # the common case, without encoding
        return name
    encoded = os.fsencode(name)
    if len(encoded) + SIDE_ROOM <= NAME_MAX:
        return name
    digest = hashlib.sha256(encoded).hexdigest()[:16]
    head = encoded[: NAME_MAX - SIDE_ROOM - len(digest) - 1].decode("utf-8", "ignore")
    return f"{head}~{digest}"


def temp_name(final: Path, tag: str) -> Path:
    return final.with_name(f".{side_stem(final.name)}.{tag}{TEMP_SUFFIX}")


def journal_name(final: Path, tag: str) -> Path:
    return final.with_name(f".{side_stem(final.name)}.{tag}{JOURNAL_SUFFIX}")


@dataclass
class Journal:
    """The resumable state of one ranged download."""

    path: Path
    temp: Path
    key: str
    size: int
    chunk_size: int
    owner: Owner
    done: dict[int, int] = field(default_factory=dict)  # chunk index -> crc32c

    def save(self) -> None:
        body = {
            "key": self.key,
            "size": self.size,
            "chunk_size": self.chunk_size,
            "temp": self.temp.name,
            "owner": self.owner.as_dict(),
            "done": {str(k): v for k, v in sorted(self.done.items())},
        }
        scratch = self.path.with_name(self.path.name + SCRATCH_SUFFIX)
        try:
            scratch.write_text(json.dumps(body, separators=(",", ":")))
            scratch.replace(self.path)
        except OSError:  # the volume is full or refused it: no half-written scratch stays
            with contextlib.suppress(OSError):
                scratch.unlink()
            raise

    def remove(self) -> None:
        for path in (self.path, self.temp):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def touch(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.utime(self.path)


def _read(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def adopt_or_create(
    final: Path, key: str, size: int, chunk_size: int, me: Owner, *, stale_after: float
) -> Journal:
    """Claim a dead owner's journal for the same version (with its chunk size), or start a
    new one.

    Journals of dead owners for other versions (and their temps) are deleted on the way.
    """
    tag = me.tag()
    mine = Journal(journal_name(final, tag), temp_name(final, tag), key, size, chunk_size, me)
    stem = glob_escape(side_stem(final.name))
    for candidate in sorted(final.parent.glob(f".{stem}.*{JOURNAL_SUFFIX}")):
        data = _read(candidate)
        if data is None or not _dead(data, candidate, stale_after):
            continue
        old_temp = _temp_of(candidate, final, data)
        old_chunk = data.get("chunk_size")
        if old_temp is None:
            _discard(candidate, None)  # a corrupt record: never follow it to another file
            continue
        if data.get("key") != key or not isinstance(old_chunk, int) or old_chunk <= 0:
            _discard(candidate, old_temp)
            continue
        if _claim(candidate, old_temp, mine):
            mine.chunk_size = old_chunk  # its chunks, even if this run would cut others
            raw_done = data.get("done", {})
            if isinstance(raw_done, dict):
                mine.done = {int(k): int(v) for k, v in raw_done.items()}
            mine.save()
            return mine
    return mine


def _temp_of(journal: Path, final: Path, data: dict[str, object]) -> Path | None:
    """The temp a journal names, only when it is one of `final`'s temps in the same folder."""
    name = data.get("temp")
    if not isinstance(name, str) or "/" in name:
        return None
    if not (name.startswith(f".{side_stem(final.name)}.") and name.endswith(TEMP_SUFFIX)):
        return None
    return journal.with_name(name)


def _dead(data: dict[str, object], path: Path, stale_after: float) -> bool:
    try:
        owner = Owner.from_dict(data["owner"])  # type: ignore[arg-type]
        mtime = path.stat().st_mtime
    except (KeyError, TypeError, ValueError, OSError):
        return False
    return not owner_alive(owner, mtime, stale_after=stale_after)


def _claim(journal: Path, temp: Path, mine: Journal) -> bool:
    """Rename the old journal, then its temp, to our names; losing either race means no claim."""
    try:
        journal.rename(mine.path)
    except FileNotFoundError:
        return False
    try:
        temp.rename(mine.temp)
    except FileNotFoundError:
        with contextlib.suppress(FileNotFoundError):
            mine.path.unlink()
        return False
    return True


def _discard(journal: Path, temp: Path | None) -> None:
    for path in (journal, temp):
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def reclaimable(final: Path, *, stale_after: float) -> int:
    """Bytes the temps of dead owners' journals for `final` hold on the volume: a fetch of
    `final` resumes into them (same version) or deletes them (another), so they are space it
    does not need again."""
    held = 0
    stem = glob_escape(side_stem(final.name))
    for candidate in final.parent.glob(f".{stem}.*{JOURNAL_SUFFIX}"):
        data = _read(candidate)
        if data is None or not _dead(data, candidate, stale_after):
            continue
        temp = _temp_of(candidate, final, data)
        with contextlib.suppress(OSError):
            if temp is not None:
                held += temp.stat().st_blocks * 512
    return held


def sweep_orphans(directory: Path, *, stale_after: float) -> int:
    """Delete `.incomplete` temps of dead owners that have no journal (single-stream files),
    and journals of dead owners whose temp is gone (killed between placing the file and
    removing its journal: nothing would ever adopt them)."""
    removed = 0
    if not directory.is_dir():
        return 0
    journals = {p.name for p in directory.glob(f".*{JOURNAL_SUFFIX}")}
    temps = list(directory.glob(f".*{TEMP_SUFFIX}"))
    removed += _sweep_journals(directory, journals, {t.name for t in temps}, stale_after)
    scratch = list(directory.glob(f".*{JOURNAL_SUFFIX}{SCRATCH_SUFFIX}"))
    for temp in [*temps, *scratch]:
        if temp.name.endswith(SCRATCH_SUFFIX):
            stem = temp.name[: -len(JOURNAL_SUFFIX + SCRATCH_SUFFIX)]
        else:
            stem = temp.name[: -len(TEMP_SUFFIX)]
            if stem + JOURNAL_SUFFIX in journals:
                continue
        tag = stem.rsplit(".", 1)[-1]
        try:
            mtime = temp.stat().st_mtime
        except FileNotFoundError:
            continue
        if not tag_alive(tag, mtime, stale_after=stale_after):
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
                removed += 1
    return removed


def _sweep_journals(
    directory: Path, journals: set[str], temps: set[str], stale_after: float
) -> int:
    """Remove the journals of dead owners whose own temp is not in `temps`."""
    removed = 0
    for name in journals:
        stem = name[: -len(JOURNAL_SUFFIX)]
        if stem + TEMP_SUFFIX in temps:
            continue
        path = directory / name
        data = _read(path)
        if data is None or data.get("temp") != stem + TEMP_SUFFIX:
            continue  # not a journal this engine wrote for that name: left alone
        if _dead(data, path, stale_after):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    return removed
