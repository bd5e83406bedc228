"""One file being placed: its chunks, epoch (bumped on restart), outcome; and the options."""

from __future__ import annotations

import errno
import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from podkit._http import RetryPolicy, retry_after_seconds
from podkit.worker.transfer.journal import Journal
from podkit.worker.transfer.remote import RemoteFile, Source
from podkit.worker.transfer.verify import PrefixHasher

MiB = 1024 * 1024
SYNC_RETRY = RetryPolicy(attempts=8, base_delay=0.25, max_delay=10.0)


class Budget(Protocol):
    """An automatic connection budget: the size to run at, from the wall clock and the bytes
    fetched so far, looked at every few hundredths of a second (scaling.Scaler)."""

    @property
    def size(self) -> int: ...

    @property
    def settled(self) -> bool:
        """True once it will not change any more (the runner stops looking)."""
        ...

    def observe(self, now: float, fetched: int) -> int: ...


@dataclass(frozen=True)
class SyncOptions:
    """Tuning and seams. `deadline` is a `clock()` value after which no new work starts and
    running chunks stop; verified chunks stay for the next run. With `grow_to`, the budget
    starts at `connections` and grows up to `grow_to` while the rate follows: `budget(start,
    limit)` makes the judge of that (scaling.Scaler when None)."""

    connections: int = 16
    grow_to: int | None = None
    chunk_size: int = 16 * MiB
    range_threshold: int = 32 * MiB  # larger files are fetched as parallel byte ranges
    retry: RetryPolicy = field(default_factory=lambda: SYNC_RETRY)
    stall_timeout: float = 30.0
    deadline: float | None = None
    lock: bool = True
    fsync: bool = True
    stale_after: float = 60.0
    space_margin: int = 64 * MiB
    verify_attempts: int = 3
    progress_interval: float = 0.25
    restart_limit: int = 3
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    budget: Callable[[int, int], Budget] | None = None

    def pause(self, delay: float, retry_after: str | None) -> None:
        """Sleep before a retry: what the server's Retry-After asks, else `delay`; never
        longer than the retry policy's longest, nor past the deadline."""
        hinted = retry_after_seconds(retry_after, time.time())  # an HTTP date is wall time
        wait = min(hinted if hinted is not None else delay, self.retry.max_delay)
        if self.deadline is not None:
            wait = max(0.0, min(wait, self.deadline - self.clock()))
        self.sleep(wait)


class Outcome:
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    DEFERRED = "deferred"  # stopped by the deadline; resumable
    WAITING = "waiting"  # another worker holds the lease


@dataclass(eq=False)
class FileJob:
    """A file to fetch (or check) for one `[[models]]` entry, to land at `target`: the
    entry's destination directory and the file's relative path, joined as a string (the small
    files never need it as a Path; making one per file cost a tenth of a 16 KiB file's time)."""

    entry: int
    source: Source
    remote: RemoteFile
    directory: str
    check_first: bool = False
    epoch: int = 0
    outcome: str = Outcome.RUNNING
    error: str = ""
    journal: Journal | None = None
    chunks: list[tuple[int, int]] = field(default_factory=list)
    verify_failures: int = 0
    restarts: int = 0
    bytes_fetched: int = 0
    resumed_bytes: int = 0
    leased: bool = False
    hasher: PrefixHasher | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @functools.cached_property
    def target(self) -> str:
        return f"{self.directory}/{self.remote.path}"

    @functools.cached_property
    def final(self) -> Path:
        return Path(self.target)

    def active(self, epoch: int) -> bool:
        return self.epoch == epoch and self.outcome == Outcome.RUNNING

    def ranged(self, threshold: int) -> bool:
        return self.remote.splittable and self.remote.size > threshold

    def set_outcome(self, outcome: str, error: str = "") -> bool:
        """Move out of RUNNING once; False if another thread already did."""
        with self.lock:
            if self.outcome != Outcome.RUNNING:
                return False
            self.outcome, self.error = outcome, error
            return True


def failed_in_words(exc: Exception) -> str:
    """Why a file failed, for its report: an OSError is the volume's answer (full, read-only,
    a directory in the way), in the system's words with the path; anything else is a bug."""
    if not isinstance(exc, OSError):
        return f"internal error: {type(exc).__name__}: {exc}"
    path = exc.filename2 if exc.filename2 is not None else exc.filename
    reason = in_words(exc)
    if isinstance(exc, IsADirectoryError):
        reason = "a directory is in the way of the file (remove it, or choose another destination)"
    return f"cannot write {path} on the volume: {reason}" if path else f"the volume: {reason}"


_NEXT_STEP = {
    errno.ENOSPC: "free space on the volume or make it larger, then run the sync again",
    errno.EDQUOT: "free space on the volume or raise its quota, then run the sync again",
    errno.EROFS: "the volume is mounted read-only; mount it writable or choose another one",
}


def in_words(exc: OSError) -> str:
    """The system's reason for a volume error, with the next step where one is known."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    step = _NEXT_STEP.get(exc.errno or 0)
    return f"{reason} ({step})" if step else reason


CHUNK_ALIGN = 64 * 1024


def chunk_size_for(size: int, largest: int, connections: int) -> int:
    """Chunks of at most `largest` bytes, as many as whole rounds of the connections take:
    300 MiB on 16 connections is 32 chunks of 9.4 MiB (two rounds), not 18 of 16 MiB and one
    of 12 MiB (a second round in which 13 connections would wait for 3)."""
    count = -(-size // largest)
    rounds = -(-count // max(1, connections))
    each = -(-size // (rounds * max(1, connections)))
    return min(largest, -(-each // CHUNK_ALIGN) * CHUNK_ALIGN)


def split_chunks(size: int, chunk_size: int) -> list[tuple[int, int]]:
    """[start, end) byte ranges covering `size` bytes."""
    return [(start, min(size, start + chunk_size)) for start in range(0, size, chunk_size)]
