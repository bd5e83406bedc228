"""The advisory lease on a real filesystem: held by a live owner, never left empty by a crash."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

from podkit.worker.transfer import lease
from podkit.worker.transfer.journal import sweep_orphans
from podkit.worker.transfer.owner import ACTIVE_RUNS, Owner

ROOT = Path(__file__).resolve().parents[3]
# Takes and gives back the lease of one file as fast as it can, until killed.
CHURN = """
import os, sys
from pathlib import Path
from podkit.worker.transfer import lease
from podkit.worker.transfer.owner import Owner
final, me = Path(sys.argv[1]), Owner.me(f"churn{os.getpid()}")
print("ready", flush=True)
while True:
    if lease.acquire(final, me, stale_after=60.0):
        lease.release(final, me)
"""


def test_a_live_owner_keeps_the_lease_and_no_private_file_is_left(tmp_path: Path) -> None:
    final = tmp_path / "model.bin"
    first, second = Owner.me("run-one"), Owner.me("run-two")
    ACTIVE_RUNS.add("run-one")
    try:
        assert lease.acquire(final, first, stale_after=60.0)
        assert not lease.acquire(final, second, stale_after=60.0)
        held = json.loads(lease.lease_path(final).read_text())
        assert held == first.as_dict()
    finally:
        ACTIVE_RUNS.discard("run-one")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.bin.podkit-lease"]
    lease.release(final, first)
    assert list(tmp_path.iterdir()) == []


def test_kill_9_while_taking_the_lease_never_leaves_an_empty_one(tmp_path: Path) -> None:
    final = tmp_path / "model.bin"
    rnd = random.Random(20261206)
    for _ in range(20):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHURN, str(final)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        time.sleep(rnd.uniform(0.0, 0.02))
        proc.kill()
        assert proc.wait(timeout=30) == -9
        path = lease.lease_path(final)
        if path.exists():  # killed while holding it: the owner is in it, so it can be broken
            assert Owner.from_dict(json.loads(path.read_text())).pid == proc.pid
            assert not lease.held_by_live_owner(path, stale_after=60.0)
    # A private file of a killed taker is an orphan temp: the next sync's sweep removes it.
    sweep_orphans(tmp_path, stale_after=60.0)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".incomplete")] == []
