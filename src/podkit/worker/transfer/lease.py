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

from podkit.worker.transfer.journal import side_stem, temp_name
from podkit.worker.transfer.owner import Owner, owner_alive

LEASE_SUFFIX = ".podkit-lease"


def lease_path(final: Path) -> Path:
    return final.with_name(f".{side_stem(final.name)}{LEASE_SUFFIX}")


def acquire(final: Path, me: Owner, *, stale_after: float) -> bool:
    """True if we hold the lease now (created, or taken over from a dead owner)."""
    path = lease_path(final)
    for _ in range(2):
        try:
            _create(path, me)
        except FileExistsError:
            if held_by_live_owner(path, stale_after=stale_after):
                return False
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        return True
    return False


def _create(path: Path, me: Owner) -> None:
    """Create the lease with its owner already in it, or raise FileExistsError.

    The owner is written to a private file that is then hard-linked into place, so a crash
    never leaves an empty lease behind (which would hold the file until it goes stale).
    Where the filesystem has no hard links, an `O_EXCL` create is the fallback."""
    private = temp_name(path, me.tag())  # swept like any temp if we die before the unlink
    private.write_text(json.dumps(me.as_dict()))
    try:
        os.link(private, path)
    except FileExistsError:
        raise
    except OSError:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        with os.fdopen(fd, "w") as handle:
            json.dump(me.as_dict(), handle)
    finally:
        private.unlink()


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
