"""The engine's pool runs every unit on its own threads, scheduled as bulk work."""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from collections.abc import Callable

import pytest

from podkit.worker.transfer.pool import Pool

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="SCHED_BATCH is Linux's")


def test_units_run_as_bulk_work_and_the_caller_keeps_its_policy() -> None:
    caller = os.sched_getscheduler(0)
    seen: list[tuple[str, int]] = []
    pool = Pool(3, "test-pool")
    for _ in range(9):
        pool.submit(
            lambda: seen.append((threading.current_thread().name, os.sched_getscheduler(0)))
        )
    pool.shutdown(cancel=False)
    assert len(seen) == 9
    assert {policy for _, policy in seen} == {os.SCHED_BATCH}
    assert {name for name, _ in seen} <= {f"test-pool_{i}" for i in range(3)}
    assert os.sched_getscheduler(0) == caller


def test_units_submitted_from_many_threads_at_once_never_start_more_threads_than_its_size() -> None:
    pool = Pool(4, "test-pool")
    ran: list[str] = []
    start = threading.Barrier(8)

    def submitter() -> None:
        start.wait()
        for _ in range(50):
            pool.submit(lambda: ran.append(threading.current_thread().name))

    submitters = [threading.Thread(target=submitter) for _ in range(8)]
    for thread in submitters:
        thread.start()
    for thread in submitters:
        thread.join()
    closing = threading.Thread(target=pool.shutdown, kwargs={"cancel": False}, daemon=True)
    closing.start()
    closing.join(timeout=10)
    assert not closing.is_alive()  # one stop reached every thread: none beyond the size
    assert len(ran) == 400
    assert len(set(ran)) <= 4


def test_an_idle_thread_calls_on_idle_which_may_hand_it_more_work() -> None:
    ran: list[str] = []
    offered = threading.Event()
    pool: Pool

    def on_idle() -> None:
        if not offered.is_set():
            offered.set()
            pool.submit(lambda: ran.append("offered"))

    pool = Pool(2, "test-pool", on_idle=on_idle, idle_every=0.01)
    pool.submit(lambda: ran.append("queued"))
    assert offered.wait(timeout=10)
    pool.shutdown(cancel=False)
    assert ran == ["queued", "offered"]


def test_an_on_idle_that_raises_leaves_the_thread_serving_units() -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("a bug")

    pool = Pool(1, "test-pool", on_idle=broken, idle_every=0.01)
    pool.submit(lambda: None)
    deadline = time.monotonic() + 10
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    done = threading.Event()
    pool.submit(done.set)
    assert done.wait(timeout=10)
    pool.shutdown(cancel=False)
    assert len(calls) == 1  # called once, then no more on that thread


def _threads(name: str) -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith(f"{name}_")}


def _until(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + 10
    while not check() and time.monotonic() < deadline:
        time.sleep(0.01)
    return check()


def test_resize_starts_threads_at_once_and_surplus_ones_leave_when_idle() -> None:
    idle_callers: set[str] = set()
    exited: list[str] = []
    release = threading.Event()
    pool = Pool(
        1, "grow-pool", idle_every=0.01,
        on_idle=lambda: idle_callers.add(threading.current_thread().name),
        on_exit=lambda: exited.append(threading.current_thread().name),
    )  # fmt: skip
    pool.resize(2)
    assert _threads("grow-pool") == set()  # not open yet: threads start with units
    pool.submit(release.wait)
    assert _until(lambda: len(_threads("grow-pool")) == 1)
    pool.resize(3)
    assert _until(lambda: len(_threads("grow-pool")) == 3)
    assert _until(lambda: len(idle_callers) == 2)  # the two without a unit look for work
    pool.resize(1)
    assert _until(lambda: len(_threads("grow-pool")) == 1)  # the idle two leave
    assert not release.is_set()  # the one left is the one still in its unit, never cut short
    assert sorted(exited) == sorted(idle_callers)  # each leaving thread let go of its things
    release.set()
    ran = threading.Event()
    pool.submit(ran.set)  # the one left still serves
    assert ran.wait(timeout=10)
    pool.shutdown(cancel=False)
    assert _threads("grow-pool") == set()
    assert len(exited) == 3


def test_units_that_fill_or_submit_during_shutdown_start_no_thread_and_every_thread_stops() -> None:
    go = threading.Event()
    exited: list[str] = []
    pool = Pool(
        4, "stop-pool", idle_every=0.01, on_idle=lambda: None,
        on_exit=lambda: exited.append(threading.current_thread().name),
    )  # fmt: skip

    def unit() -> None:  # a chunk that was about to fetch when Ctrl-C came
        go.wait()
        pool.fill()
        pool.submit(lambda: None)

    pool.submit(unit)
    pool.submit(unit)
    assert _until(lambda: len(_threads("stop-pool")) == 2)
    closer = threading.Thread(target=pool.shutdown, kwargs={"cancel": True}, daemon=True)
    closer.start()
    assert _until(lambda: pool.closed)
    go.set()
    closer.join(timeout=30)
    assert not closer.is_alive(), "shutdown waited for a thread that never got its stop"
    assert sorted(exited) == ["stop-pool_0", "stop-pool_1"]  # none started once it began
    assert _threads("stop-pool") == set()


def test_one_stop_reaches_a_running_thread_that_no_count_includes() -> None:
    pool = Pool(2, "unlisted-pool", idle_every=0.01, on_idle=lambda: None)
    pool.submit(lambda: None)
    # A Ctrl-C between a thread's start and its listing leaves one like this: running on the
    # pool's queue, in no list and no count.
    unlisted = threading.Thread(target=pool._work, name="unlisted-pool_x", daemon=True)
    unlisted.start()
    pool.submit(lambda: None)  # the listed threads may start up to the size all the same
    closer = threading.Thread(target=pool.shutdown, kwargs={"cancel": True}, daemon=True)
    closer.start()
    closer.join(timeout=30)
    unlisted.join(timeout=30)
    assert not closer.is_alive(), "shutdown waited for a thread that never got its stop"
    assert not unlisted.is_alive()
    assert _threads("unlisted-pool") == set()


class _Rounds:
    """Each round, the first idle thread to look submits a unit that lasts until the round is
    over (and takes it back itself); every look is counted per thread."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.finder: str | None = None
        self.pool: Pool | None = None
        self._over = threading.Event()
        self._lock = threading.Lock()

    def on_idle(self) -> None:
        me = threading.current_thread().name
        with self._lock:
            self.calls[me] = self.calls.get(me, 0) + 1
            if self.finder is not None or self.pool is None:
                return
            self.finder, over = me, self._over
        self.pool.submit(over.wait, 10.0)

    def looked(self, name: str, times: int) -> bool:
        return self.calls.get(name, 0) >= times

    def next_round(self) -> None:
        with self._lock:
            self._over.set()
            self._over, self.finder = threading.Event(), None


def test_an_idle_thread_keeps_looking_while_another_runs_the_unit_it_found() -> None:
    # Over a SimpleQueue, whose timed get could wait for the next put instead of its timeout,
    # the other idle thread stopped looking within the first few rounds.
    rounds = _Rounds()
    pool = Pool(2, "idle-pool", on_idle=rounds.on_idle, idle_every=0.01)
    pool.submit(lambda: None)
    pool.fill()
    rounds.pool = pool
    for _ in range(6):
        assert _until(lambda: rounds.finder is not None)
        (other,) = {"idle-pool_0", "idle-pool_1"} - {rounds.finder}
        looked = functools.partial(rounds.looked, other, rounds.calls.get(other, 0) + 5)
        assert _until(looked), "the other idle thread stopped looking for work"
        rounds.next_round()
    pool.shutdown(cancel=False)
