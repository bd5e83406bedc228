"""An advisory lease per large file: saves duplicate bandwidth when workers share a volume.

Correctness never depends on it (network filesystems may grant locks to everyone): unique
temps, verification and an atomic rename carry it. The lease is an `O_EXCL`-created file
holding its owner; a dead or silent owner's lease is broken and taken over.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

from podkit.worker.transfer.owner import Owner, owner_alive

LEASE_SUFFIX = ".podkit-lease"


def lease_path(final: Path) -> Path:
    return final.with_name(f".{final.name}{LEASE_SUFFIX}")


def acquire(final: Path, me: Owner, *, stale_after: float) -> bool:
    """True if we hold the lease now (created, or taken over from a dead owner)."""
    path = lease_path(final)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if held_by_live_owner(path, stale_after=stale_after):
                return False
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump(me.as_dict(), handle)
        return True
    return False


def held_by_live_owner(path: Path, *, stale_after: float) -> bool:
    try:
        owner = Owner.from_dict(json.loads(path.read_text()))
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return False
    except (OSError, ValueError, KeyError, TypeError):
        # Being written right now, or left empty by a crash: held until it goes stale.
        try:
            return time.time() - path.stat().st_mtime < stale_after
        except FileNotFoundError:
            return False
    return owner_alive(owner, mtime, stale_after=stale_after)


def release(final: Path, me: Owner) -> None:
    path = lease_path(final)
    try:
        owner = Owner.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return
    if owner == me:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def touch(final: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.utime(lease_path(final))
