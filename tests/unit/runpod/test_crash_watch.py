"""The crash-loop watch of `apply --wait`: one sample at a time, no threads, no clock."""

from __future__ import annotations

import pytest

from podkit.runpod.crash_watch import CrashLoopError, CrashWatch, SeenWorker


def _watch(lines: dict[str, list[str]] | None = None) -> CrashWatch:
    said = lines or {}
    return CrashWatch(lambda: [], lambda wid: said.get(wid, []), version=2)


def test_a_worker_listed_unhealthy_is_a_crash_loop_quoting_its_last_lines() -> None:
    watch = _watch({"w1": ["Traceback", "ModuleNotFoundError: No module named 'handler'"]})
    assert not watch.look([SeenWorker("w1", "INITIALIZING", 2)])
    assert watch.look([SeenWorker("w1", "UNHEALTHY", 2)])
    with pytest.raises(CrashLoopError) as info:
        watch.check()
    assert "release v2 crash-loop: w1" in info.value.message
    assert "No module named 'handler'" in info.value.message


def test_workers_that_vanish_before_ready_count_but_retired_ones_do_not() -> None:
    watch = _watch()
    watch.look([SeenWorker("old", "IDLE", 1), SeenWorker("a", "INITIALIZING", 2)])
    assert not watch.look([SeenWorker("old", "IDLE", 1, is_stale=True)])  # "a" died young
    assert not watch.look([SeenWorker("b", "INITIALIZING", 2)])  # "old" retired: not counted
    assert watch.look([])  # "b" died young too: two are a loop
    assert watch.dead == ["a", "b"]


def test_a_worker_that_became_ready_and_left_is_no_crash() -> None:
    watch = _watch()
    watch.look([SeenWorker("a", "IDLE", 2)])
    assert not watch.look([])
    assert watch.finding is None
    watch.check()
