"""One local RunPod per state directory: an exclusive lock on `DIR/emulator.lock` while it runs.

Two emulators on one `--state-dir` would overwrite each other's `state.json` and run the same
stored jobs twice. The lock is an advisory `flock`, so the kernel drops it when its holder
ends, `kill -9` included: a stale lock file never blocks a restart.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from podkit.errors import EmulatorError

LOCK_NAME = "emulator.lock"


class StateLock:
    """`acquire()` the directory or raise an `EmulatorError` naming its holder; `release()`."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise EmulatorError(
                f"--state-dir {self.path.parent}: cannot open {self.path.name} "
                f"({exc.strerror or exc})",
                hint="give a directory podkit can write to, or leave --state-dir out",
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _holder(fd)
            os.close(fd)
            raise EmulatorError(
                f"--state-dir {self.path.parent} is in use by another local RunPod{holder}",
                hint="stop that one first, or give this one another --state-dir",
            ) from None
        self._fd = fd
        try:  # only for the message of the next one; a full disk may refuse it
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def _holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""
