"""No process of a worker outlives the worker or the emulator (the SDK's heartbeat included)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.functional.emulator_dataplane.harness import Served, wait_until

HOST = Path(__file__).with_name("orphan_host.py")
ROOT = Path(__file__).parents[3]
# How long a worker's processes may outlive it (the platform removes a container at once).
GONE_WITHIN_S = 2.0

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie has already exited


def _group(pgid: int) -> list[int]:
    """Live processes in a process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def test_workers_die_with_a_killed_emulator(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    host = subprocess.Popen(
        [sys.executable, str(HOST), str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert host.stdout is not None
        pgid = int(host.stdout.readline())
        wait_until(lambda: len(_group(pgid)) >= 3)  # init, sleeper, forked sleeper
        host.send_signal(signal.SIGKILL)
        host.wait(10)
        wait_until(lambda: not _group(pgid), timeout=GONE_WITHIN_S)
    finally:
        if host.poll() is None:
            host.kill()
            host.wait(10)


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def test_a_killed_sdk_worker_leaves_no_process_behind(served: Served) -> None:
    served.endpoint("killed", workers_min=1, workers_max=1, idle_timeout_s=60)
    (worker_id,) = wait_until(lambda: served.plane.supervisor.live_worker_ids("killed"))
    process = served.plane.supervisor.process(worker_id)
    assert process is not None
    pgid = process.pid  # the worker's init leads the group

    def started() -> list[int] | None:  # init, the SDK's process, its heartbeat child
        members = _group(pgid)
        return members if len(members) >= 3 else None

    members = wait_until(started)
    sdk = next(pid for pid in members if pid != pgid and _parent(pid) == pgid)
    os.kill(sdk, signal.SIGKILL)  # as if it crashed; its heartbeat child is still alive
    wait_until(lambda: not _group(pgid), timeout=GONE_WITHIN_S)
    served.plane.endpoint_deleted("killed")


def test_a_worker_that_ends_takes_its_children_and_shows_its_last_lines(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    script = (
        "import subprocess, sys; subprocess.Popen(['sleep', '60']);"
        "print('loading weights', flush=True); print('boom: weights.bin is missing', flush=True);"
        "sys.exit(3)"
    )
    caplog.set_level(logging.WARNING, logger="podkit.emulator.dataplane")
    served.endpoint(
        "ends", workers_min=1, workers_max=1, worker_command=[sys.executable, "-c", script]
    )
    (worker_id,) = wait_until(lambda: served.plane.supervisor.live_worker_ids("ends"))
    process = served.plane.supervisor.process(worker_id)
    assert process is not None
    process.wait(30)
    wait_until(lambda: not _group(process.pid), timeout=GONE_WITHIN_S)
    warning = wait_until(
        lambda: [r.getMessage() for r in caplog.records if worker_id in r.getMessage()]
    )
    assert "exited with code 3" in warning[0]
    assert "loading weights\n  boom: weights.bin is missing" in warning[0]
    served.plane.endpoint_deleted("ends")
