"""Small files in one loop: one pool thread keeps a window of whole-file GETs in flight on
its libcurl multi handle, holds each body in memory (at most `BATCHED_MAX` bytes), verifies
it there, writes it to a temp file and renames it into place (`landing.py`).

Sixteen threads each driving one blocking transfer spend much of a small file's CPU waking
up, handing the GIL over and polling one socket each; one loop spends it on the transfers,
as `curl --parallel` does. Whatever is not a plain complete 200 (a redirect, another status,
a transport failure, a stall, a checksum mismatch) goes back to the runner's one-file path,
which retries with backoff, follows redirects, and fails or restarts as for any file.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from podkit.worker.transfer import landing
from podkit.worker.transfer._fetch import Fetcher, FetchError, Pending
from podkit.worker.transfer.jobs import FileJob
from podkit.worker.transfer.landing import land_guarded

# A body this size at most is held in memory: a window of 64 is 16 MiB at worst.
BATCHED_MAX = 256 * 1024
STALL_LOOK = 0.1  # seconds between two looks for stalled transfers (at most)


class Host(landing.Host, Protocol):
    """What the loop needs of the runner."""

    fetcher: Fetcher

    def window(self) -> int: ...
    def past_deadline(self) -> bool: ...
    def defer(self, job: FileJob) -> None: ...


@dataclass
class _Flight:
    """A job's transfer in the loop, and when it last moved (its own stall clock)."""

    job: FileJob
    epoch: int
    moved_at: float
    seen: int = -1

    def stalled(self, progress: int, now: float, timeout: float) -> bool:
        if progress != self.seen:
            self.seen, self.moved_at = progress, now
            return False
        return now - self.moved_at > timeout


def batched(job: FileJob) -> bool:
    """True for a file the loop fetches: small, and not a check of a present file."""
    return not job.check_first and job.remote.size <= BATCHED_MAX


class SmallFiles:
    """One unit of the pool: fetches its jobs, a window at a time, in the calling thread."""

    def __init__(self, host: Host, jobs: list[FileJob]) -> None:
        self._host = host
        self._queue = deque(jobs)
        self._flying: dict[Pending, _Flight] = {}
        self._looked_at = 0.0

    def run(self) -> None:
        host = self._host
        try:
            while self._queue or self._flying:
                if host.past_deadline():
                    self._stop_all()
                    return
                self._refill()
                if not self._flying:
                    continue
                for pending in host.fetcher.step():  # only those that completed
                    flight = self._flying.pop(pending, None)
                    if flight is not None:
                        self._land(pending, flight)
                self._look_for_stalls()
        finally:  # after an error in this loop, the one-file path takes what is left
            self._hand_back_flying()
            while self._queue:
                host.start(self._queue.popleft())

    def _look_for_stalls(self) -> None:
        now = time.monotonic()
        timeout = self._host.options.stall_timeout
        if now - self._looked_at < min(STALL_LOOK, timeout / 4):
            return
        self._looked_at = now
        for pending, flight in list(self._flying.items()):
            if flight.stalled(pending.progress, now, timeout):
                del self._flying[pending]
                pending.close()
                self._host.start(flight.job)  # the one-file path retries it, with backoff

    def _refill(self) -> None:
        host = self._host
        room = host.window() - len(self._flying)
        while room > 0 and self._queue:
            job = self._queue.popleft()
            if not job.active(job.epoch):
                continue
            remote = job.remote
            headers = {**job.source.headers(remote.url), **dict(remote.pin_headers)}
            try:
                pending = host.fetcher.start(remote.url, headers, at_most=remote.size)
            except (FetchError, ValueError):
                host.start(job)  # the one-file path raises it again, in its own words
                continue
            self._flying[pending] = _Flight(job, job.epoch, time.monotonic())
            room -= 1

    def _land(self, pending: Pending, flight: _Flight) -> None:
        """Land a finished transfer's body, follow its redirect, or give the job back to the
        one-file path."""
        job = flight.job
        if not job.active(flight.epoch):
            pending.close()
        elif pending.status != 200:
            pending.close()
            self._follow_or_hand_back(pending, flight)
        else:
            try:
                body = pending.body()
            except FetchError:
                self._host.start(job)
                return
            land_guarded(self._host, job, flight.epoch, pending.url, body)

    def _follow_or_hand_back(self, pending: Pending, flight: _Flight) -> None:
        try:
            following = self._host.fetcher.follow(pending)
        except (FetchError, ValueError):
            following = None
        if following is None:
            self._host.start(flight.job)
        else:
            self._flying[following] = _Flight(flight.job, flight.epoch, time.monotonic())

    def _stop_all(self) -> None:
        """The deadline (or a stop): nothing more starts; what is in flight is dropped."""
        for pending, flight in self._flying.items():
            pending.close()
            self._host.defer(flight.job)
        self._flying.clear()
        while self._queue:
            self._host.defer(self._queue.popleft())

    def _hand_back_flying(self) -> None:
        flying, self._flying = self._flying, {}
        for pending, flight in flying.items():
            pending.close()
            if flight.job.active(flight.epoch):
                self._host.start(flight.job)
