"""Which process holds a deploy lock, so a deploy on the same machine can tell a dead one.

A holder that was killed (`kill -9`, out of memory, a closed laptop lid that ended the
session) never frees its lock; another deploy would wait out the lock's lifetime. The lock
names its holder's process as `WHERE:PID:START`: WHERE is a hash of the kernel's boot id
and the process-id namespace (two machines, two boots or two containers never share it),
PID and START (its start time in clock ticks since boot) tell a live process from one
whose pid was reused. Only where all three can be read (Linux) is a holder ever declared
gone; anywhere else the lock simply expires.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

PROC = Path("/proc")


def process_mark(pid: int | None = None) -> str:
    """`WHERE:PID:START` for `pid` (this process by default); "" where it cannot be told."""
    pid = os.getpid() if pid is None else pid
    try:
        where = _where()
        started = _start_time(pid)
    except (OSError, ValueError, IndexError):
        return ""
    return f"{where}:{pid}:{started}"


def holder_gone(mark: str) -> bool:
    """Whether the process `mark` names ran where this one runs and has ended since."""
    where, _, rest = mark.partition(":")
    pid_text, _, started = rest.partition(":")
    if not (pid_text.isascii() and pid_text.isdigit() and started) or int(pid_text) < 1:
        return False
    try:
        if where != _where():
            return False
    except (OSError, ValueError):
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, under another user
    except OSError:
        return False
    try:
        return _start_time(pid) != started  # the pid now names another process
    except (OSError, ValueError, IndexError):
        return False  # cannot tell: treat as alive


def _where() -> str:
    boot = (PROC / "sys" / "kernel" / "random" / "boot_id").read_text(encoding="ascii").strip()
    namespace = str((PROC / "self" / "ns" / "pid").readlink())
    if not boot or not namespace:
        raise ValueError("no boot id or pid namespace")
    return hashlib.sha256(f"podkit-lock:{boot}|{namespace}".encode()).hexdigest()[:16]


def _start_time(pid: int) -> str:
    stat = (PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    # Field 22 (starttime); the command name before it may hold spaces and parentheses.
    return stat.rpartition(")")[2].split()[19]
