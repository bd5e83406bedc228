"""One thread that moves every byte-range stream of a sync on one libcurl multi handle.

A range stream is long (megabytes) and arrives a TLS record at a time. With a thread per
stream, sixteen threads were each woken per record, and the interpreter's lock changed hands
at every step among them: over a quarter of the engine's CPU went to task switching. Here the
engine's threads send a request and wait (asleep, not runnable); this thread steps every
stream at once, and hands each its blocks through the `Sink` the waiting thread gave it: the
sink writes them at their offset, checksums them and counts them, on this thread.

Everything that touches libcurl runs on this thread: other threads queue commands and wake it
through a pipe that its `select` watches beside libcurl's sockets.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections import deque
from collections.abc import Callable

import pycurl

from podkit.worker.transfer._curl import _Lane, _Setup, drive_multi
from podkit.worker.transfer._response import IDLE_EVERY, Response, TransportError
from podkit.worker.transfer.pool import as_bulk_work

Sink = Callable[[list[bytes]], bool]  # takes a response's blocks; True: wants no more
_LOOK_EVERY = 0.1  # seconds between two looks at stalls and at sinks without data
_POLL = 0.5  # the longest wait in select() while streams run
_WAIT_CHECK = 1.0  # a waiting thread checks this often that the loop is still alive
# A step that took less than this waits (at most `_NAP_MAX`) for more to gather in the
# sockets: slow streams otherwise wake the loop for a record or two each time.
_STEP_BYTES = 256 * 1024
_NAP_MAX = 0.002
# libcurl reads a transfer about ten times per call; a stream that handed over this many
# blocks in one step may have more waiting already, and the loop does not wait then.
_FULL_READ = 10


class LoopStopped(TransportError):
    """The loop ended (the fetcher was closed, or the loop failed) before the answer."""


class DrivenResponse(Response):
    """A response moved on by the loop thread. Its caller waits for the head
    (`wait_for_head`), then for the body to reach a sink (`drain`); `close` is queued."""

    def __init__(
        self,
        lane: _Lane,
        easy: pycurl.Curl,
        stall: float,
        clock: Callable[[], float],
        *,
        driver: Driver,
        head_ready: threading.Event,
    ) -> None:
        super().__init__(lane, easy, stall, clock)
        self._driver = driver
        self.head_ready = head_ready
        self.ended = threading.Event()
        self.sink: Sink | None = None
        self.sink_error: BaseException | None = None
        self.seen, self.seen_at = -1, clock()  # progress at the last look, and when it grew
        self.lingering = False  # drained with its body all in: kept until libcurl says done
        self.awaited = True  # its caller waits for the head
        self.took = 0  # bytes of the last `take`
        # `read_blocks`: the loop gathers `want` bytes into `held`, then sets `ready`; the
        # reader owns `held` and `kept` (what it has not returned yet) while `want` is 0.
        self.want = 0
        self.ready = threading.Event()
        self.held: list[bytes] = []
        self._kept: deque[bytes] = deque()
        self._kept_size = 0

    def wait_for_head(self) -> None:
        self._driver.wait(self.head_ready)
        if not self._head_done:
            self.close()
            raise self._error or TransportError("the connection closed before the response")

    def read_blocks(self, amount: int) -> list[bytes]:
        """Up to `amount` bytes of the body; [] once it is complete. The loop reads the
        socket meanwhile, whether or not anyone asks (`drain` is the engine's way)."""
        if self._kept_size < amount and not self.ended.is_set():
            want = amount - self._kept_size
            self.ready.clear()
            self._driver.call(lambda: self._driver.gather(self, want))
            self._driver.wait(self.ready)
            self._kept.extend(self.held)
            self._kept_size += sum(map(len, self.held))
            self.held = []
        if not self._kept_size:
            error, self._error = self._error, None
            if error is not None:
                raise error
            return []
        blocks, size = [], 0
        while self._kept and size < amount:
            block = self._kept.popleft()
            if size + len(block) > amount:
                self._kept.appendleft(block[amount - size :])
                block = block[: amount - size]
            blocks.append(block)
            size += len(block)
        self._kept_size -= size
        return blocks

    def drain(self, sink: Sink, idle: Callable[[], None] | None = None) -> None:
        """Hand the body to `sink` on the loop thread until it wants no more or the body ends;
        raise what the sink raised, or the transport's failure. The caller runs `idle` every
        `IDLE_EVERY` seconds meanwhile (hashing what the sink wrote, off the loop thread)."""
        self._driver.call(lambda: self._driver.attach(self, sink))
        if idle is not None:
            while not self.ended.wait(IDLE_EVERY):
                idle()
        self._driver.wait(self.ended)
        if self.sink_error is not None:
            raise self.sink_error
        error, self._error = self._error, None
        if error is not None:
            raise error

    def close(self) -> None:
        with contextlib.suppress(LoopStopped):  # a stopped loop closed its transfers already
            self._driver.call(lambda: self._driver.drop(self))

    def take(self) -> list[bytes]:
        """What arrived since the last take, as libcurl handed it over."""
        blocks = self._arrived[:]
        self.took = 0
        if blocks:
            self._arrived.clear()
            self.took = sum(map(len, blocks))
            self._received += self.took
        if self._chunks:  # arrived before the sink was attached, and counted then
            blocks[:0] = self._chunks
            self._chunks.clear()
            self._buffered = 0
        return blocks

    def all_in(self) -> bool:
        """True when a body of announced length has arrived whole (libcurl may not have
        marked it complete yet)."""
        length = self.headers.get("content-length", "")
        return length.isdigit() and self._received >= int(length)


_Fds = tuple[list[int], list[int], list[int]]  # to read, to write, exceptional (`fdset`)


class _Waits:
    """What the loop waits on: libcurl's sockets as its `fdset` names them, and the pipe that
    wakes it for a command, in `poll` objects. `select` refuses a descriptor above 1,023, and
    the pipe is opened wherever the process has room: in a worker with many files open, there.
    """

    def __init__(self, wake: int) -> None:
        self._wake = wake
        self._pipe = select.poll()
        self._pipe.register(wake, select.POLLIN)
        self._all = select.poll()
        self._all.register(wake, select.POLLIN)
        self._fds: _Fds = ([], [], [])
        self._masks: dict[int, int] = {}

    def nap(self, seconds: float) -> None:
        """Wait `seconds`, in whole milliseconds (poll's, rounded down: rounded up, a short nap
        cost rate), unless a command comes (its wake-up is left for `sockets`)."""
        milliseconds = int(seconds * 1000)
        if milliseconds:
            self._pipe.poll(milliseconds)

    def command(self) -> None:
        """Wait for a command, however long."""
        self._pipe.poll()
        self._emptied()

    def sockets(self, fds: _Fds, seconds: float) -> None:
        """Wait for one of the sockets or a command, at most `seconds`."""
        if fds != self._fds:  # most steps wait on the same sockets as the last
            self._watch(fds)
        if any(fd == self._wake for fd, _ in self._all.poll(seconds * 1000)):
            self._emptied()

    def _emptied(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self._wake, 4096)

    def _watch(self, fds: _Fds) -> None:
        masks: dict[int, int] = {}
        for group, flag in zip(fds, (select.POLLIN, select.POLLOUT, select.POLLPRI), strict=True):
            for fd in group:
                masks[fd] = masks.get(fd, 0) | flag
        for fd in self._masks.keys() - masks.keys():
            self._all.unregister(fd)
        for fd, mask in masks.items():
            if self._masks.get(fd) != mask:
                self._all.register(fd, mask)
        self._fds, self._masks = fds, masks


class Driver:
    """The loop thread, started on the first request and stopped by `close`."""

    def __init__(self, configure: Callable[[pycurl.Curl], None]) -> None:
        self._lane = _Lane(configure)
        self._commands: deque[Callable[[], None]] = deque()
        self._lock = threading.Lock()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._waits = _Waits(self._wake_read)
        self._watched: set[DrivenResponse] = set()  # waiting for a head, draining or lingering
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._looked_at = 0.0
        self._stepped_at = 0.0  # when the last step began
        self._taken = 0  # bytes the sinks and readers took in this step
        self._full = False  # a stream handed over a full read in this step

    # -- from any thread ------------------------------------------------------------------

    def start(self, setup: _Setup, stall: float, clock: Callable[[], float]) -> DrivenResponse:
        """Send a request; the response once its head is in (`wait_for_head` raises)."""
        head_ready = threading.Event()
        started: list[DrivenResponse] = []
        failed: list[BaseException] = []

        def begin() -> None:
            try:
                response = self._lane.start(
                    setup, stall, clock,
                    make=lambda lane, easy: DrivenResponse(
                        lane, easy, stall, clock, driver=self, head_ready=head_ready
                    ),
                )  # fmt: skip
            except Exception as exc:  # the caller raises it
                failed.append(exc)
                head_ready.set()
                return
            assert isinstance(response, DrivenResponse)
            started.append(response)
            self._watched.add(response)

        self.call(begin)
        self.wait(head_ready)
        if failed:
            raise failed[0]
        response = started[0]
        response.wait_for_head()
        return response

    def call(self, command: Callable[[], None]) -> None:
        """Run `command` on the loop thread (soon; this does not wait for it)."""
        with self._lock:
            if self._stopped:
                raise LoopStopped("the transfer loop has stopped")
            self._commands.append(command)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="podkit-sync-wire", daemon=True
                )
                self._thread.start()
            with contextlib.suppress(BlockingIOError):  # full: a wake-up is pending anyway
                os.write(self._wake_write, b"\0")

    def wait(self, event: threading.Event) -> None:
        """Wait for `event`, which the loop sets; LoopStopped if the loop ends first."""
        while not event.wait(_WAIT_CHECK):
            thread = self._thread
            stopped = self._stopped or thread is None or not thread.is_alive()
            if stopped and not event.is_set():
                raise LoopStopped("the transfer loop has stopped")

    def close(self) -> None:
        with self._lock:
            if self._stopped and self._thread is None:
                return
            self._stopped = True
            thread = self._thread
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake_write, b"\0")
        if thread is not None:
            thread.join()
        else:
            self._lane.close()
        with self._lock:
            self._thread = None
            os.close(self._wake_read)
            os.close(self._wake_write)

    # -- on the loop thread ---------------------------------------------------------------

    def attach(self, response: DrivenResponse, sink: Sink) -> None:
        response.sink = sink
        self._watched.add(response)
        self._serve(response, time.monotonic())  # a body already in needs no more steps

    def gather(self, response: DrivenResponse, want: int) -> None:
        response.want = want
        self._watched.add(response)
        self._serve(response, time.monotonic())

    def drop(self, response: DrivenResponse) -> None:
        if response.lingering:
            return  # its body is all in: it ends when libcurl is done with it
        self._watched.discard(response)
        Response.close(response)
        response.head_ready.set()
        response.ended.set()
        response.ready.set()

    def _run(self) -> None:
        as_bulk_work()
        try:
            while self._run_commands():
                if not self._watched and not self._lane.active:
                    self._sleep(None)
                    continue
                drive_multi(self._lane)
                now = time.monotonic()
                look = now - self._looked_at >= _LOOK_EVERY
                if look:
                    self._looked_at = now
                self._taken, self._full = 0, False
                for response in list(self._watched):
                    # Most steps bring news to a few streams: the others are not looked at.
                    if response._arrived or response.complete or look or response.awaited:
                        self._serve(response, now, look=look)
                self._nap(now)
                self._sleep(self._lane.multi.timeout())
        except BaseException as exc:  # a bug: every waiting thread hears of it, none hangs
            self._stop_all(LoopStopped(f"the transfer loop failed ({type(exc).__name__})"))
            raise
        self._stop_all(LoopStopped("the transfer loop has stopped"))

    def _run_commands(self) -> bool:
        while True:
            with self._lock:
                if not self._commands:
                    return not self._stopped
                command = self._commands.popleft()
            command()

    def _nap(self, now: float) -> None:
        """After a step that took little, wait as long as the same rate needs to bring a
        worthwhile step (a command still wakes the loop at once). Measured on 4 paced
        connections: a fifth less CPU per GiB, the same rate (bench/RESULTS.md, run N9)."""
        taken, since = self._taken, now - self._stepped_at
        self._stepped_at = now
        if not taken or taken >= _STEP_BYTES or self._full:
            return
        self._waits.nap(min(_NAP_MAX, since * (_STEP_BYTES / taken - 1)))

    def _sleep(self, timeout_ms: int | None) -> None:
        """Wait for libcurl's sockets (at most its timeout) or a command."""
        if timeout_ms is None:
            self._waits.command()
        elif timeout_ms != 0:
            wait = _POLL if timeout_ms < 0 else min(_POLL, timeout_ms / 1000)
            self._waits.sockets(self._lane.multi.fdset(), min(wait, _LOOK_EVERY))

    def _serve(self, response: DrivenResponse, now: float, *, look: bool = False) -> None:
        """Hand a response's news to its waiter: the head, blocks for the sink or the
        reader, the end."""
        if response.want:
            self._gathered(response, look)
            return
        if response.sink is None:
            if response.lingering:
                if response.complete or (look and self._stalled(response)):
                    self._watched.discard(response)
                    Response.close(response)
            elif response._head_done or response.complete:
                response.awaited = False
                response.head_ready.set()
            elif look and self._stalled(response):
                self._fail(response, TransportError("no response within the stall timeout"))
            return
        blocks = response.take()
        self._took(response, blocks)
        if not blocks and not response.complete:
            if not look:
                return
            if self._stalled(response):
                self._fail(response, TransportError("no data within the stall timeout"))
                return
        try:
            wants_no_more = response.sink(blocks)
        except BaseException as exc:  # the sink's own failure (a write, the deadline)
            response.sink_error = exc
            self._end(response)
            return
        if wants_no_more or response.complete:
            self._end(response)

    def _took(self, response: DrivenResponse, blocks: list[bytes]) -> None:
        self._taken += response.took
        if len(blocks) >= _FULL_READ:
            self._full = True

    def _gathered(self, response: DrivenResponse, look: bool) -> None:
        blocks = response.take()
        self._took(response, blocks)
        response.held.extend(blocks)
        response.want -= sum(map(len, blocks))
        if not response.complete and response.want > 0:
            if not (look and self._stalled(response)):
                return
            response._error = TransportError("no data within the stall timeout")
        response.want = 0
        if response.complete or response._error is not None:
            self._end(response)
        response.ready.set()

    def _stalled(self, response: DrivenResponse) -> bool:
        seen, now = response.progress, response._clock()
        if seen != response.seen:
            response.seen, response.seen_at = seen, now
            return False
        return now - response.seen_at > response._stall

    def _fail(self, response: DrivenResponse, error: TransportError) -> None:
        response._error = error
        self._end(response)

    def _end(self, response: DrivenResponse) -> None:
        """The waiter has its answer; a body all in stays until libcurl is done with it, so
        that its connection is kept."""
        response.sink = None
        if not response.complete and response._error is None and response.all_in():
            response.lingering = True
        else:
            self._watched.discard(response)
            Response.close(response)
        response.head_ready.set()
        response.ended.set()

    def _stop_all(self, error: LoopStopped) -> None:
        with self._lock:
            self._stopped = True
            self._commands.clear()
        for response in list(self._watched):
            if response.sink_error is None and response._error is None:
                response._error = error
            response.head_ready.set()
            response.ended.set()
            response.ready.set()
        self._watched.clear()
        self._lane.close()
