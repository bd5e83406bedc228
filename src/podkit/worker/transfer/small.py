"""Small files in one loop: one pool thread keeps a window of whole-file GETs in flight on
its libcurl multi handle, holds each body in memory (at most `BATCHED_MAX` bytes), verifies
it there, writes it to a temp file and renames it into place.

Sixteen threads each driving one blocking transfer spend much of a small file's CPU waking
up, handing the GIL over and polling one socket each; one loop spends it on the transfers,
as `curl --parallel` does. Whatever is not a plain complete 200 (a redirect, another status,
a transport failure, a stall, a checksum mismatch) goes back to the runner's one-file path,
which retries with backoff, follows redirects, and fails or restarts as for any file.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from podkit.worker.transfer._fetch import Fetcher, FetchError, Pending
from podkit.worker.transfer.jobs import FileJob, Outcome, SyncOptions
from podkit.worker.transfer.journal import temp_name
from podkit.worker.transfer.owner import Owner
from podkit.worker.transfer.progress import Tracker
from podkit.worker.transfer.verify import Crc32c

# A body this size at most is held in memory: a window of 64 is 16 MiB at worst.
BATCHED_MAX = 256 * 1024


class Host(Protocol):
    """What the loop needs of the runner."""

    options: SyncOptions
    fetcher: Fetcher
    tracker: Tracker
    owner: Owner

    def window(self) -> int: ...
    def past_deadline(self) -> bool: ...
    def start(self, job: FileJob) -> None: ...
    def defer(self, job: FileJob) -> None: ...
    def fail(self, job: FileJob, message: str) -> None: ...
    def finish(self, job: FileJob, placed: os.stat_result | None = None) -> None: ...


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
                host.fetcher.step()
                now = time.monotonic()
                for pending, flight in list(self._flying.items()):
                    if pending.complete:
                        del self._flying[pending]
                        self._land_guarded(pending, flight)
                    elif flight.stalled(pending.progress, now, host.options.stall_timeout):
                        del self._flying[pending]
                        pending.close()
                        host.start(flight.job)  # the one-file path retries it, with backoff
        finally:  # after an error in this loop, the one-file path takes what is left
            self._hand_back_flying()
            while self._queue:
                host.start(self._queue.popleft())

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

    def _land_guarded(self, pending: Pending, flight: _Flight) -> None:
        try:
            self._land(pending, flight)
        except Exception as exc:  # a bug fails its file, as the pool's guard does, not the loop
            pending.close()
            message = f"internal error: {type(exc).__name__}: {exc}"
            flight.job.set_outcome(Outcome.FAILED, message)

    def _land(self, pending: Pending, flight: _Flight) -> None:
        """Verify and place a finished transfer's file, follow its redirect, or give the job
        back to the one-file path."""
        host, job = self._host, flight.job
        if not job.active(flight.epoch):
            pending.close()
            return
        if pending.status != 200:
            pending.close()
            self._follow_or_hand_back(pending, flight)
            return
        try:
            body = pending.body()
        except FetchError:
            host.start(job)
            return
        wrong = _mismatches(job, body)
        if wrong:
            job.verify_failures += 1
            if job.verify_failures >= host.options.verify_attempts:
                host.fail(job, f"{pending.url}: {wrong} mismatch after {job.verify_failures}"
                          " downloads")  # fmt: skip
            else:
                host.start(job)
            return
        try:
            placed = _place(job.final, temp_name(job.final, host.owner.tag()), body)
        except OSError as exc:
            host.fail(job, f"writing under {job.final.parent}: {exc.strerror or exc}")
            return
        job.bytes_fetched += len(body)
        host.tracker.add(len(body), job.remote.path)
        host.finish(job, placed)

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


def _mismatches(job: FileJob, body: bytes) -> str:
    """The checks the body fails, in words ("" when it passes)."""
    expected = job.remote.expected
    hashers = expected.streaming_hashers()
    if expected.crc32c:
        hashers["crc32c"] = Crc32c()
    for hasher in hashers.values():
        hasher.update(body)
    wrong = expected.mismatches({name: h.hexdigest() for name, h in hashers.items()})
    if len(body) != job.remote.size:
        wrong.append("size")
    return ", ".join(wrong)


def _place(final: Path, temp: Path, body: bytes) -> os.stat_result:
    """Write a verified body to `temp` and rename it to `final`; the stat the state file
    records (a rename keeps size and mtime)."""
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view) :]
            placed = os.fstat(fd)
        finally:
            os.close(fd)
        temp.replace(final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return placed
