"""The state file on the volume: what each destination holds, so a re-sync makes no data requests.

`<destination>/.podkit-sync-state.json` maps each relative path to the source key
(`size:version`) and the local size and mtime written. It is replaced atomically and merged
on save, so two workers updating it lose at most an entry, which the next plan re-verifies
by checksum rather than downloading again.
"""

from __future__ import annotations

import contextlib
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
    """What this process last wrote to a state file: each entry as JSON text, and the file's
    stamp (inode, size, mtime) then. While the stamp holds, nobody else replaced the file,
    and the next save adds its updates to these entries instead of reading, parsing and
    encoding every entry again (a periodic save of 10,000 files costs a join, not a dump)."""

    stamp: tuple[int, int, int]
    encoded: dict[str, str]  # path -> '"path":{"key":...,"size":...,"mtime_ns":...}'


def _stamp(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _encode(path: str, record: Recorded) -> str:
    key, size, mtime_ns = json.dumps(record.key), record.size, record.mtime_ns
    return f'{json.dumps(path)}:{{"key":{key},"size":{size},"mtime_ns":{mtime_ns}}}'


def _current(destination: Path, last: Written | None) -> dict[str, str]:
    """The entries on the volume now, encoded: `last`'s if the file is still the one it
    wrote, otherwise read from the file."""
    if last is not None:
        try:
            if _stamp(state_path(destination).stat()) == last.stamp:
                return last.encoded
        except OSError:
            pass
    return {path: _encode(path, record) for path, record in load_state(destination).items()}


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
    encoded = _current(destination, last)
    encoded.update((path, _encode(path, record)) for path, record in updates.items())
    files = ",".join(encoded[path] for path in sorted(encoded))
    text = f'{{"version":1,"source":{json.dumps(source)},"files":{{{files}}}}}'
    destination.mkdir(parents=True, exist_ok=True)
    temp = destination / f".podkit-sync-state.{tag}.incomplete"
    try:
        with temp.open("w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
            stamp = _stamp(os.fstat(handle.fileno()))
        temp.replace(state_path(destination))
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return Written(stamp, encoded)


def record_for(path: Path, key: str) -> Recorded:
    stat = path.stat()
    return Recorded(key, stat.st_size, stat.st_mtime_ns)
