"""Spans in flight: a chunk of a large file, or a whole file, written by one segment or more
(`segments.py`), each segment a unit of the pool; the last to end calls what the span's
starter gave (journal the chunk, verify and place the file). A thread of the pool without a
unit of its own splits the back part off the slowest span in flight and fetches it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol

from podkit.worker.transfer.jobs import FileJob, SyncOptions
from podkit.worker.transfer.segments import Segment, Span, WholeFile
from podkit.worker.transfer.streaming import Streamer


@dataclass(eq=False)
class Fetching:
    """A span in flight: the file its segments write into, and what its last part calls."""

    job: FileJob
    epoch: int
    span: Span
    temp: Path
    done: Callable[[Span, bool], None]


class Host(Protocol):
    """What the spans need of the runner."""

    options: SyncOptions
    streamer: Streamer

    def submit(self, fn: Callable[..., None], *args: object) -> None: ...
    def attempts(self, job: FileJob, epoch: int, fn: Callable[[], int]) -> int | None: ...
    def past_deadline(self) -> bool: ...
    def fill(self) -> None: ...


class Spans:
    """The spans in flight, which idle connections may split."""

    def __init__(self, host: Host) -> None:
        self._host = host
        self._fetching: set[Fetching] = set()
        self._lock = threading.Lock()

    def fetch(self, fetching: Fetching) -> None:
        """Fetch a span's first segment in the calling unit."""
        with self._lock:
            self._fetching.add(fetching)
        self._host.fill()  # threads without a unit of their own split this span
        self._part_unit(fetching, fetching.span.head)

    def _part_unit(self, fetching: Fetching, segment: Segment) -> None:
        host, job, epoch, span = self._host, fetching.job, fetching.epoch, fetching.span
        # The thread waiting for a whole file's first segment hashes what it wrote meanwhile.
        idle = span.hash_ahead if isinstance(span, WholeFile) and segment is span.head else None
        ok = False
        try:
            get = partial(host.streamer.part, job, epoch, fetching.temp, segment, idle)
            ok = host.attempts(job, epoch, get) is not None
        finally:
            if fetching.span.part_ended(ok):
                self._ended(fetching, fetching.span.ok)

    def _ended(self, fetching: Fetching, ok: bool) -> None:
        with self._lock:
            self._fetching.discard(fetching)
        fetching.done(fetching.span, ok)

    def end_all(self) -> None:
        """End every span still in flight as failed (the pool dropped its units)."""
        for fetching in list(self._fetching):
            self._ended(fetching, ok=False)

    def offer_split(self) -> None:
        """Give an idle connection the back part of the slowest segment in flight."""
        host = self._host
        if not self._fetching or host.past_deadline():
            return
        now = host.options.clock()
        with self._lock:
            live = sorted(self._fetching, key=lambda f: f.span.seconds_left(now), reverse=True)
        for fetching in live:
            if not fetching.job.active(fetching.epoch):
                continue
            tail = fetching.span.split(now, host.streamer.answers.shortest())
            if tail is not None:
                host.submit(self._part_unit, fetching, tail)
                return
