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


def save_state(destination: Path, source: str, updates: dict[str, Recorded], tag: str) -> None:
    """Merge `updates` into the state file (re-read first), then replace it atomically."""
    if not updates:
        return
    merged = load_state(destination)
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
    temp.replace(state_path(destination))


def record_for(path: Path, key: str) -> Recorded:
    stat = path.stat()
    return Recorded(key, stat.st_size, stat.st_mtime_ns)
