"""The first process of a local worker, as a container's init: `python container_init.py CMD...`.

Run as a script by path (standard library only, so it starts fast in any interpreter). The
supervisor starts it as the leader of a new session and process group; it runs CMD in that
group and
- passes SIGTERM and SIGINT on to CMD (as `docker stop` signals the entrypoint),
- when CMD ends, SIGKILLs every other process left in the group (the SDK's heartbeat child)
  and exits as CMD did (its exit code, or dying of the same signal),
- when its standard input reaches end of file, which happens when the emulator dies even of
  SIGKILL, SIGKILLs the whole group, itself included.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path

_STAT_AFTER_NAME = 2  # /proc/PID/stat after "(comm) ": state, ppid, pgrp, ...


def _group_members(pgid: int) -> list[int]:
    """Live processes of the group other than this one (Linux /proc; elsewhere none)."""
    members = []
    try:
        entries = [p for p in Path("/proc").iterdir() if p.name.isdigit()]
    except OSError:
        return []
    for entry in entries:
        if int(entry.name) == os.getpid():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if len(fields) > _STAT_AFTER_NAME and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _kill_the_rest() -> None:
    pgid = os.getpgrp()
    for _ in range(100):  # bounded: a member may fork while we look
        members = _group_members(pgid)
        if not members:
            return
        for pid in members:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


def _watch_lifeline() -> None:
    while True:
        try:
            if not os.read(0, 4096):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _spawn(command: list[str]) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)
            os.execvp(command[0], command)
        except OSError as exc:
            print(f"cannot run {command[0]!r}: {exc.strerror}", file=sys.stderr, flush=True)
        os._exit(127)
    return pid


def main(command: list[str]) -> None:
    if not command:
        print("usage: container_init.py COMMAND [ARG...]", file=sys.stderr)
        sys.exit(2)
    child = _spawn(command)

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(OSError):
            os.kill(child, signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    threading.Thread(target=_watch_lifeline, daemon=True).start()
    _, status = os.waitpid(child, 0)
    _kill_the_rest()
    if os.WIFSIGNALED(status):
        ended_by = signal.Signals(os.WTERMSIG(status))
        signal.signal(ended_by, signal.SIG_DFL)
        os.kill(os.getpid(), ended_by)
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main(sys.argv[1:])
