"""A deploy lock whose holder was killed on this machine is taken over at once.

`kill -9` (or the out-of-memory killer) leaves the lock behind with no one to free it; a
re-run on the same machine sees that the process the lock names is gone and takes it over
instead of waiting out the lock's lifetime. A holder that is alive, or that ran elsewhere,
is still waited for: only a process this machine can see ended is declared gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from podkit.deploy.lock import LockInfo, LockStore, current, lock_name
from podkit.deploy.lock_process import holder_gone, process_mark
from podkit.emulator.server import LocalRunPod
from podkit.errors import DeployError
from podkit.runpod import ApiKey, RunPodClient
from tests.functional.deploy.helpers import SCOPE, Clock, client, lock_for, new_key, write_config

pytestmark = [
    pytest.mark.timeout(90, method="thread"),
    pytest.mark.skipif(not process_mark(), reason="processes are told apart on Linux only"),
]


@pytest.fixture
def c(local_runpod: LocalRunPod) -> Iterator[RunPodClient]:
    with client(local_runpod.url, new_key()) as api:
        yield api


def a_dead_pid() -> int:
    """The pid of a process that has run and ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def held_by(c: RunPodClient, clock: Clock, mark: str) -> None:
    """A lock of SCOPE, live for an hour on `clock`, naming `mark` as its holder's process."""
    info = LockInfo("", SCOPE.owner, "ci@elsewhere pid 7", clock(), clock() + 3600, "n0", mark)
    LockStore(c, lock_name(SCOPE)).create(info)


def test_a_lock_left_by_a_process_that_ended_here_is_taken_over_at_once(c: RunPodClient) -> None:
    clock = Clock()
    where = process_mark().split(":")[0]
    held_by(c, clock, f"{where}:{a_dead_pid()}:12345")
    lock, said = lock_for(c, clock, "me")
    mine = lock.acquire()
    assert clock.slept == []  # no wait for the hour the lock had left
    assert said == [
        "the deploy lock of gpu-worker/staging held by ci@elsewhere pid 7 was left by a process "
        "that no longer runs on this machine; taking it over"
    ]
    found = current(c, SCOPE)
    assert found is not None and found.token == mine.token and found.process == process_mark()


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def test_a_pid_that_now_names_another_process_counts_as_ended(
    c: RunPodClient, sleeper: subprocess.Popen[bytes]
) -> None:
    where, pid, started = process_mark(sleeper.pid).split(":")
    assert not holder_gone(f"{where}:{pid}:{started}")
    clock = Clock()
    held_by(c, clock, f"{where}:{pid}:{int(started) + 1}")  # same pid, another start
    lock, said = lock_for(c, clock, "me")
    lock.acquire()
    assert clock.slept == [] and "no longer runs on this machine" in said[0]


@pytest.mark.parametrize("elsewhere", [False, True])
def test_a_live_holder_or_one_on_another_machine_is_waited_for(
    c: RunPodClient, sleeper: subprocess.Popen[bytes], elsewhere: bool
) -> None:
    mark = process_mark(sleeper.pid)
    if elsewhere:  # another machine's process: its pid means nothing here
        mark = f"0123456789abcdef:{a_dead_pid()}:1"
    clock = Clock()
    held_by(c, clock, mark)
    lock, said = lock_for(c, clock, "me", timeout=30)
    with pytest.raises(DeployError, match="gave up after 30 s waiting for the deploy lock"):
        lock.acquire()
    assert sum(clock.slept) >= 30 and not any("taking it over" in s for s in said)


@pytest.mark.parametrize("mark", ["", "junk", "x:0:1", "x:-1:1", ":::", "a:1", "a:b:c"])
def test_a_mark_that_cannot_be_read_never_frees_a_lock(mark: str) -> None:
    where = process_mark().split(":")[0]
    assert not holder_gone(mark)
    assert not holder_gone(mark.replace("x", where))


def test_an_apply_killed_mid_write_leaves_a_lock_the_next_apply_takes_over(
    local_runpod: LocalRunPod, tmp_path: Path
) -> None:
    """kill -9 between two writes, then a re-run: it converges, without the lock's wait."""
    key = ApiKey(f"killed-{tmp_path.name}", "test")
    write_config(tmp_path)
    env = {**os.environ, "PODKIT_TARGET": local_runpod.url, "RUNPOD_API_KEY": key.reveal()}
    argv = [sys.executable, "-m", "podkit.cli.main", "apply", "--yes", "--env", "staging"]
    local_runpod.backend.faults.add("POST /v2/serverless", latency_s=30.0)
    first = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)  # fmt: skip
    accounts = local_runpod.backend
    for _ in range(600):  # until the volume exists and the endpoint's create is on its way
        volumes = accounts.account(key.reveal()).volumes
        if volumes and first.poll() is None:
            break
        time.sleep(0.05)
    time.sleep(0.5)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    local_runpod.backend.faults.clear()
    with client(local_runpod.url, key) as api:
        assert current(api, SCOPE) is not None  # the killed run's lock is still there
    again = subprocess.run([*argv, "--lock-timeout", "60s"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    said = " ".join((again.stdout + again.stderr).split())
    assert again.returncode == 0, said
    assert "no longer runs on this machine; taking it over" in said
    acc = local_runpod.backend.account(key.reveal())
    assert sorted(e["name"] for e in acc.endpoints.values()) == ["gpu-worker-staging"]
    assert [v["name"] for v in acc.volumes.values()] == ["pk-gpu-worker-staging-models"]
    assert [t for t in acc.templates.values() if t["name"].endswith("deploy-lock")] == []
    assert key.reveal() not in said
