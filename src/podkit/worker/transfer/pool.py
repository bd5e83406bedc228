"""The engine's threads: a set over one queue, each marked as bulk work.

A thread woken by arriving data is scheduled as `SCHED_BATCH` on Linux: it waits for the
running task's time slice instead of preempting it, so a sync yields to whatever shares the
cores (the model server of a worker, or a local origin) while its sockets' buffers absorb the
wait. Where the policy is missing or refused, threads keep the default.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable


def as_bulk_work() -> None:
    """Schedule the calling thread as bulk work (Linux `SCHED_BATCH`); a no-op elsewhere."""
    policy = getattr(os, "SCHED_BATCH", None)
    if policy is None:
        return
    with contextlib.suppress(OSError):  # e.g. a seccomp profile that refuses it
        os.sched_setscheduler(0, policy, os.sched_param(0))


_Unit = tuple[Callable[..., None], tuple[object, ...]]
_OnIdle = Callable[[], None] | None


class Pool:
    """A set of threads over one queue. Nothing reads a unit's result, so there are no
    futures: a small file costs one queue put and get instead of a future's locks and
    notifications, which 16 threads otherwise contend for on every file. A thread without a
    unit calls `on_idle` now and then, which may find it one (a split stream's tail); `resize`
    grows or shrinks the set while it runs, and a thread that leaves calls `on_exit` (to close
    what it kept open).

    The queue is a `queue.Queue`, not a `SimpleQueue`: CPython's `SimpleQueue.get(timeout=)`
    can miss its timeout and wait for the next put when another thread put a unit and took it
    back itself, so an idle thread stopped calling `on_idle` (seen with CPython 3.10 to 3.12)."""

    def __init__(
        self,
        size: int,
        name: str,
        *,
        on_idle: Callable[[], None] | None = None,
        idle_every: float = 0.05,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        self._queue: queue.Queue[_Unit | None] = queue.Queue()
        self._size, self._name = size, name
        self._on_idle, self._idle_every = on_idle, idle_every
        self._on_exit = on_exit
        self._threads: list[threading.Thread] = []
        self._starting = threading.Lock()  # units also come from the pool's own threads
        self._live = 0  # threads started and not left as surplus
        self._opened = False
        self._closed = False  # shutdown began: no thread starts any more

    @property
    def size(self) -> int:
        return self._size

    @property
    def closed(self) -> bool:
        """True once shutdown began."""
        return self._closed

    def submit(self, fn: Callable[..., None], *args: object) -> None:
        # The unit goes first: a thread started next finds it at once instead of waiting to be
        # woken. Threads start one per unit (a no-op sync starts none), one by one: a Ctrl-C
        # in the middle leaves only started threads in the list that shutdown() joins.
        self._queue.put((fn, args))
        if self._live >= self._size:
            return
        with self._starting:
            if self._live < self._size and not self._closed:
                self._start_thread()

    def resize(self, size: int) -> None:
        """Run on `size` threads: new ones start at once if the pool is open (they take
        queued units, or find work through `on_idle`); surplus ones leave when they next find
        nothing to do (with `on_idle`, which idle threads wake for), so a running unit always
        ends."""
        with self._starting:
            self._size = size
            self._start_up_to_size()

    def fill(self) -> None:
        """Start the threads the size allows now, not one per unit: an idle one finds work
        through `on_idle` (a few large streams leave most of the budget to split them)."""
        if self._live >= self._size:
            return
        with self._starting:
            self._start_up_to_size()

    def _start_up_to_size(self) -> None:
        """Start threads until there are `size`, if the pool is open; the caller holds
        `_starting`."""
        while self._opened and not self._closed and self._live < self._size:
            self._start_thread()

    def _start_thread(self) -> None:
        """Start one thread; the caller holds `_starting`."""
        self._opened = True
        thread = threading.Thread(
            target=self._work, name=f"{self._name}_{len(self._threads)}", daemon=True
        )
        thread.start()
        self._threads.append(thread)
        self._live += 1

    def _work(self) -> None:
        as_bulk_work()
        on_idle = self._on_idle
        try:
            while True:
                unit, on_idle = self._next(on_idle)
                if unit is None:
                    return
                fn, args = unit
                fn(*args)
        finally:
            if self._on_exit is not None:
                self._on_exit()

    def _next(self, on_idle: _OnIdle) -> tuple[_Unit | None, _OnIdle]:
        """The next unit (None to leave), and this thread's `on_idle` from now on. While there
        is no unit, a surplus thread leaves and others run `on_idle` at once and then every
        `idle_every` seconds (it may submit one): a thread just started, or just done with its
        unit, looks for work without waiting. If `on_idle` raises, this thread stops calling
        it: a thread that died here would leave queued units that nobody runs."""
        while on_idle is not None:
            with contextlib.suppress(queue.Empty):
                return self._pass_on(self._queue.get_nowait()), on_idle
            if self._leave_if_surplus():
                return None, on_idle
            try:
                on_idle()
            except Exception:
                on_idle = None
                break
            with contextlib.suppress(queue.Empty):
                return self._pass_on(self._queue.get(timeout=self._idle_every)), on_idle
        return self._pass_on(self._queue.get()), None

    def _pass_on(self, unit: _Unit | None) -> _Unit | None:
        """A stop taken from the queue goes back for the next thread (see `shutdown`)."""
        if unit is None:
            self._queue.put(None)
        return unit

    def _leave_if_surplus(self) -> bool:
        if self._live <= self._size:
            return False
        with self._starting:
            if self._live <= self._size:
                return False
            self._live -= 1
            return True

    def shutdown(self, *, cancel: bool) -> None:
        """Let the threads finish (dropping queued units if `cancel`), then join them.

        A unit still running may call `fill` or `submit` (a chunk about to be fetched): no
        thread starts once shutdown began. One stop reaches every thread, each passing it on,
        so no count of threads has to be right: a Ctrl-C that lands in `_start_thread` between
        a thread's start and its listing leaves a running thread that no count includes, and
        with one stop per counted thread, a thread was left waiting for a stop forever.
        """
        with self._starting:
            self._closed = True
        if cancel:
            with contextlib.suppress(queue.Empty):
                while True:
                    self._queue.get_nowait()
        self._queue.put(None)
        for thread in self._threads:
            thread.join()
