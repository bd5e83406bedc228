"""An advisory lease per large file: saves duplicate bandwidth when workers share a volume.

Correctness never depends on it (network filesystems may grant locks to everyone): unique
temps, verification and an atomic rename carry it. The lease is an `O_EXCL`-created file
holding its owner; a dead or silent owner's lease is broken and taken over.

Breaking happens under a second lease, the guard, so that of several workers finding the same
stale lease one takes it over, and none removes the fresh lease another has just put in its
place. A guard whose holder died is itself broken by renaming it aside and checking that what
was renamed is still the stale one; a holder whose fresh guard was renamed aside instead
leaves the lease alone.
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
GUARD_SUFFIX = "-break"
_Seen = tuple[int, bytes, float]  # inode, content and mtime of one lease, read together


def lease_path(final: Path) -> Path:
    return final.with_name(f".{side_stem(final.name)}{LEASE_SUFFIX}")


def acquire(final: Path, me: Owner, *, stale_after: float) -> bool:
    """True if we hold the lease now (created, or taken over from a dead owner)."""
    path = lease_path(final)
    for _ in range(2):
        try:
            _create(path, me)
        except FileExistsError:
            seen = _read(path)
            if seen is None:
                continue  # given back meanwhile
            if _alive(seen, stale_after):
                return False
            return _take_over(path, seen, me, stale_after=stale_after)
        return True
    return False


def _take_over(path: Path, stale: _Seen, me: Owner, *, stale_after: float) -> bool:
    """Replace the stale lease `stale` with ours, holding the guard while doing it."""
    guard = path.with_name(path.name + GUARD_SUFFIX)
    if not _hold(guard, me, stale_after=stale_after):
        return False  # another worker is taking it over
    try:
        if not _held_by(guard, me):
            return False  # set aside by a worker that found a stale guard: try again later
        current = _read(path)
        if current is not None:
            if current[:2] != stale[:2]:
                return False  # taken over already
            path.unlink()
        _create(path, me)
        return True
    except FileExistsError:
        return False
    finally:
        _give_back(guard, me)


def _hold(guard: Path, me: Owner, *, stale_after: float) -> bool:
    for _ in range(2):
        try:
            _create(guard, me)
            return True
        except FileExistsError:
            seen = _read(guard)
            if seen is not None and (_alive(seen, stale_after) or not _set_aside(guard, seen, me)):
                return False
    return False


def _set_aside(path: Path, stale: _Seen, me: Owner) -> bool:
    """Remove the stale file `stale` at `path`; False if `path` had become another's.

    The rename is atomic, so of several workers doing this one gets the stale file. One that
    got a fresh guard instead removed it: its holder sees that before it touches the lease
    (`_take_over`). Putting it back could bring back a guard its holder had given back
    meanwhile, left there for good."""
    private = temp_name(path, me.tag())
    try:
        path.rename(private)
    except FileNotFoundError:
        return True
    moved = _read(private)
    private.unlink()
    return moved is None or moved[:2] == stale[:2]


def _read(path: Path) -> _Seen | None:
    """A lease as it was at one moment (content and inode of the same open file). One that
    cannot be read reads as empty: held until it goes stale, like one being written."""
    try:
        with path.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            return stat.st_ino, handle.read(), stat.st_mtime
    except FileNotFoundError:
        return None
    except OSError:
        try:
            stat = path.stat()
        except OSError:
            return None
        return stat.st_ino, b"", stat.st_mtime


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
    seen = _read(path)
    return seen is not None and _alive(seen, stale_after)


def _alive(seen: _Seen, stale_after: float) -> bool:
    _, content, mtime = seen
    try:
        owner = Owner.from_dict(json.loads(content))
    except (ValueError, KeyError, TypeError):
        # Being written right now, or left empty by a crash: held until it goes stale.
        return time.time() - mtime < stale_after
    return owner_alive(owner, mtime, stale_after=stale_after)


def release(final: Path, me: Owner) -> None:
    _give_back(lease_path(final), me)


def _give_back(path: Path, me: Owner) -> None:
    if _held_by(path, me):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _held_by(path: Path, me: Owner) -> bool:
    try:
        return Owner.from_dict(json.loads(path.read_text())) == me
    except (OSError, ValueError, KeyError, TypeError):
        return False


def touch(final: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.utime(lease_path(final))
