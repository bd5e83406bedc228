"""The state file on the volume: what each destination holds, so a re-sync makes no data requests.

`<destination>/.podkit-sync-state.json` maps each relative path to the source key
(`size:version`) and the local size and mtime written. It is replaced atomically and merged
on save, so two workers updating it lose at most an entry, which the next plan re-verifies
by checksum rather than downloading again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

STATE_NAME = ".podkit-sync-state.json"


@dataclass(frozen=True)
class Recorded:
    key: str
    size: int
    mtime_ns: int


def state_path(destination: Path) -> Path:
    return destination / STATE_NAME


def load_state(destination: Path) -> dict[str, Recorded]:
    """The recorded files; an unreadable or foreign file counts as empty (everything re-checks)."""
    try:
        data = json.loads(state_path(destination).read_text())
        files = data["files"]
        return {
            path: Recorded(str(v["key"]), int(v["size"]), int(v["mtime_ns"]))
            for path, v in files.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


@dataclass
class Written:
    """What this process last wrote to a state file, and the file's stamp (inode, size,
    mtime) then: while the stamp holds, nobody else replaced it, and the next save merges
    into these entries instead of reading and parsing the file again."""

    stamp: tuple[int, int, int]
    files: dict[str, Recorded]


def _stamp(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _current(destination: Path, last: Written | None) -> dict[str, Recorded]:
    """The entries on the volume now: `last`'s if the file is still the one it wrote."""
    if last is not None:
        try:
            if _stamp(state_path(destination).stat()) == last.stamp:
                return last.files
        except OSError:
            pass
    return load_state(destination)


def save_state(
    destination: Path,
    source: str,
    updates: dict[str, Recorded],
    tag: str,
    last: Written | None = None,
) -> Written | None:
    """Merge `updates` into the state file (re-read first, unless `last` says it is still
    the one this process wrote), then replace it atomically; what it wrote, for the next
    save (None when there was nothing to write)."""
    if not updates:
        return last
    merged = _current(destination, last)
    merged.update(updates)
    body = {
        "version": 1,
        "source": source,
        "files": {
            path: {"key": r.key, "size": r.size, "mtime_ns": r.mtime_ns}
            for path, r in sorted(merged.items())
        },
    }
    destination.mkdir(parents=True, exist_ok=True)
    temp = destination / f".podkit-sync-state.{tag}.incomplete"
    # dumps, not dump: only the one-shot encoder is C; dump writes piece by piece in Python.
    text = json.dumps(body, separators=(",", ":"))
    with temp.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
        stamp = _stamp(os.fstat(handle.fileno()))
    temp.replace(state_path(destination))
    return Written(stamp, merged)


def record_for(path: Path, key: str) -> Recorded:
    stat = path.stat()
    return Recorded(key, stat.st_size, stat.st_mtime_ns)
