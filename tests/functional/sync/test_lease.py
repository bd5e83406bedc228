"""The advisory lease on a real filesystem: held by a live owner, never left empty by a crash."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from podkit.worker.transfer import lease
from podkit.worker.transfer.journal import sweep_orphans
from podkit.worker.transfer.owner import ACTIVE_RUNS, HOST, Owner

ROOT = Path(__file__).resolve().parents[3]
# Takes and gives back the lease of one file as fast as it can, until killed.
CHURN = """
import os, sys
from pathlib import Path

import pytest
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
    killed: set[int] = set()
    for _ in range(20):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHURN, str(final)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        time.sleep(rnd.uniform(0.0, 0.02))
        proc.kill()
        assert proc.wait(timeout=30) == -9
        killed.add(proc.pid)
        path = lease.lease_path(final)
        if path.exists():  # a killed holder's (this one's, or one before it took over): the
            # owner is in it, so it can be broken
            assert Owner.from_dict(json.loads(path.read_text())).pid in killed
            assert not lease.held_by_live_owner(path, stale_after=60.0)
    # A private file of a killed taker is an orphan temp: the next sync's sweep removes it.
    sweep_orphans(tmp_path, stale_after=60.0)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".incomplete")] == []


# Waits for a file name on stdin, tries to take its lease once, answers yes or no; a lease it
# takes stays held (this process is alive) so the others of the round must see it live.
CONTENDER = """
import os, sys
from pathlib import Path

import pytest
from podkit.worker.transfer import lease
from podkit.worker.transfer.owner import Owner
me = Owner.me(f"contender{os.getpid()}")
print("ready", flush=True)
for line in sys.stdin:
    took = lease.acquire(Path(line.strip()), me, stale_after=60.0)
    print("yes" if took else "no", flush=True)
"""


def test_workers_breaking_a_dead_lease_together_leave_it_to_one(tmp_path: Path) -> None:
    """A crashed worker's lease, found by several at once: exactly one of them takes over.

    Breaking by unlinking the path let a slow breaker remove the lease a fast one had just
    taken in its place, and both downloaded the file. Every other round a worker has also
    died while breaking it, leaving its guard behind."""
    dead = Owner(HOST, 2**22 + 7, "1", "crashed")  # a pid above the kernel's limit: never running
    contenders = [
        subprocess.Popen(
            [sys.executable, "-c", CONTENDER],
            cwd=ROOT,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        for _ in range(6)
    ]
    try:
        for proc in contenders:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        for round_number in range(150):
            final = tmp_path / f"shard-{round_number}.bin"
            lease.lease_path(final).write_text(json.dumps(dead.as_dict()))
            if round_number % 2:
                guard = lease.lease_path(final).with_name(f".{final.name}.podkit-lease-break")
                guard.write_text(json.dumps(dead.as_dict()))
            for proc in contenders:
                assert proc.stdin is not None
                proc.stdin.write(f"{final}\n")
                proc.stdin.flush()
            answers = [proc.stdout.readline().strip() for proc in contenders if proc.stdout]
            assert answers.count("yes") == 1, (round_number, answers)
            holder = Owner.from_dict(json.loads(lease.lease_path(final).read_text()))
            assert holder.pid == contenders[answers.index("yes")].pid
    finally:
        for proc in contenders:
            proc.kill()
            proc.wait(timeout=30)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".podkit-lease")) == []


def test_a_lease_that_cannot_be_read_is_held_until_stale_and_then_fails_in_words(
    tmp_path: Path,
) -> None:
    # Something else in the lease's place (here a folder): read as a lease being written.
    final = tmp_path / "model.bin"
    lease.lease_path(final).mkdir()
    me = Owner.me("run-dir")
    assert lease.held_by_live_owner(lease.lease_path(final), stale_after=60.0)
    assert not lease.acquire(final, me, stale_after=60.0)
    with pytest.raises(IsADirectoryError):  # the runner fails the file in these words
        lease.acquire(final, me, stale_after=0.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.bin.podkit-lease"]
