"""Who owns a temp file, journal or lease, and whether that owner is gone.

Names carry `<host hash>-<pid>-<random>`; a record also keeps the process start time, so a
recycled pid is not mistaken for the owner. On the same host a dead pid means stale at once;
owners on other hosts are stale when their heartbeat (mtime) is older than `stale_after`.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path


def _start_time(pid: int) -> str:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return fields[19] if len(fields) > 19 else ""


_COUNTER = itertools.count()
HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    start: str
    run: str

    @classmethod
    def me(cls, run: str) -> Owner:
        pid = os.getpid()
        return cls(HOST, pid, _start_time(pid), run)

    def tag(self) -> str:
        """The part of a file name that identifies this owner (unique per call)."""
        return f"{self.host}-{self.pid}-{self.run[:6]}{next(_COUNTER):x}"

    def as_dict(self) -> dict[str, object]:
        return {"host": self.host, "pid": self.pid, "start": self.start, "run": self.run}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Owner:
        return cls(str(data["host"]), int(str(data["pid"])), str(data["start"]), str(data["run"]))


ACTIVE_RUNS: set[str] = set()  # runs of this process still going (a worker serves many jobs)


def owner_alive(owner: Owner, mtime: float, *, stale_after: float) -> bool:
    """True when the owner may still be writing; correctness never depends on the answer.

    A live owner refreshes the mtime (heartbeat) every few seconds, so a hung one goes stale
    too; on this host a dead process is stale at once.
    """
    if time.time() - mtime >= stale_after:
        return False
    if owner.host == HOST:
        if owner.pid == os.getpid():
            return owner.run in ACTIVE_RUNS
        start = _start_time(owner.pid)
        return bool(start) and start == owner.start
    return True


def tag_alive(tag: str, mtime: float, *, stale_after: float) -> bool:
    """Liveness from a name tag alone (small-file temps have no record)."""
    host, _, rest = tag.partition("-")
    pid_text = rest.partition("-")[0]
    if host == HOST and pid_text.isdigit():
        pid = int(pid_text)
        if pid == os.getpid():
            return time.time() - mtime < stale_after
        return bool(_start_time(pid))
    return time.time() - mtime < stale_after
