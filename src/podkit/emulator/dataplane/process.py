"""One worker process: a container-like init (`container_init.py`) running the worker command
in its own session and process group, output captured line by line.

The init's standard input is a pipe only this process holds open: when the emulator dies,
even of SIGKILL, the init sees end of file and ends the whole group. When the worker command
ends, the init ends what it left behind (the SDK's heartbeat child).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path

from podkit.emulator.runtime import LogLine

INIT = Path(__file__).with_name("container_init.py")
# The init runs with the standard library only (-I -S): it starts fast and ignores the
# worker's PYTHONPATH; the worker command itself gets the environment as given.
INIT_COMMAND = (sys.executable, "-I", "-S", str(INIT))


def check_start(command: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
    """Refuse what no process can be started with, naming it (values stay unquoted: an env
    value may be a secret)."""
    for name, value in env.items():
        if not name or "=" in name or "\0" in name:
            raise ValueError(
                f"environment variable name {name!r} is not allowed (empty, or with '=' or a "
                "NUL character); rename it in the endpoint's env"
            )
        if "\0" in value:
            raise ValueError(
                f"environment variable {name} holds a NUL character; remove it from the "
                "endpoint's env"
            )
    if any("\0" in part for part in command) or "\0" in str(cwd):
        raise ValueError("the worker command or its directory holds a NUL character")


class WorkerProcess:
    """A running worker command; `kill()` acts on its whole process group."""

    def __init__(
        self,
        worker_id: str,
        command: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        *,
        max_lines: int,
    ) -> None:
        self.worker_id = worker_id
        self.command = tuple(command)
        self.cwd = cwd
        self.started_at = time.time()
        self._lines: deque[LogLine] = deque(maxlen=max_lines)
        self._seq = 0
        self._lock = threading.Lock()
        check_start(command, env, cwd)
        self._popen = subprocess.Popen(
            [*INIT_COMMAND, *command],
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.PIPE,  # the lifeline: end of file when the emulator is gone
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: the SDK forks a heartbeat child
        )
        self.pid = self._popen.pid
        self.note("start container")
        self._reader = threading.Thread(
            target=self._read, name=f"worker-log-{worker_id}", daemon=True
        )
        self._reader.start()

    def _read(self) -> None:
        stream = self._popen.stdout
        if stream is None:
            return
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._lock:
                self._seq += 1
                self._lines.append(LogLine(self._seq, time.time(), "container", line))
        stream.close()

    def note(self, text: str) -> None:
        """Add a `system` line, as the platform logs a container's lifecycle."""
        with self._lock:
            self._seq += 1
            self._lines.append(LogLine(self._seq, time.time(), "system", text))

    def lines(self, after: int = 0) -> list[LogLine]:
        """Captured lines with a sequence number above `after` (the oldest may be dropped)."""
        with self._lock:
            return [line for line in self._lines if line.seq > after]

    def poll(self) -> int | None:
        """The exit code once the process ended, else None."""
        return self._popen.poll()

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def stop(self) -> None:
        """Ask the worker to drain and exit: SIGTERM to the init, which passes it on."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self.pid, signal.SIGTERM)

    def kill(self) -> None:
        """End the worker at once (SIGKILL to its process group)."""
        self._signal_group(signal.SIGKILL)

    def wait(self, timeout: float) -> int | None:
        """Wait up to `timeout` seconds for the exit; the exit code or None."""
        try:
            return self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def reap(self) -> None:
        """Kill what is left of the group and collect the process and its log reader."""
        self.kill()
        self.wait(5)
        self.drain(2)
        if self._popen.stdin is not None:
            self._popen.stdin.close()

    def drain(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the last output lines of an ended process."""
        self._reader.join(timeout)

    def last_output(self, count: int = 5) -> list[str]:
        """The last `count` lines the worker printed (its own output, not lifecycle notes)."""
        with self._lock:
            printed = [line.line for line in self._lines if line.source == "container"]
        return printed[-count:]
