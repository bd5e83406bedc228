"""No worker outlives the emulator, even one killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.emulator_dataplane.harness import wait_until

HOST = Path(__file__).with_name("orphan_host.py")
ROOT = Path(__file__).parents[3]


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has already exited


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux")
def test_workers_die_with_a_killed_emulator(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    host = subprocess.Popen(
        [sys.executable, str(HOST), str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert host.stdout is not None
        worker_pid = int(host.stdout.readline())
        assert _alive(worker_pid)
        host.send_signal(signal.SIGKILL)
        host.wait(10)
        wait_until(lambda: not _alive(worker_pid), timeout=10)
    finally:
        if host.poll() is None:
            host.kill()
            host.wait(10)
