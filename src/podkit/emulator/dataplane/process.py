"""One worker process: started in its own process group, output captured line by line."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from podkit.emulator.runtime import LogLine


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a child hook that has the kernel SIGKILL the worker when its parent dies,
    so a killed emulator leaves no orphan workers polling a dead origin."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # resolved before fork: no imports here

    return hook


_PR_SET_PDEATHSIG = 1


class WorkerProcess:
    """A running worker command; `stop()`/`kill()` act on its whole process group."""

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
        self._popen = subprocess.Popen(
            list(command),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: the SDK forks a heartbeat child
            preexec_fn=_die_with_parent(),
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
        """Ask the worker to drain and exit (SIGTERM, as the platform does)."""
        self._signal_group(signal.SIGTERM)

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
        self._reader.join(timeout=2)
