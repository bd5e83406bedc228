"""Spans of a file fetched as segments that idle connections can split, so the last bytes of
a sync arrive over every connection instead of the slowest few.

A span is a chunk of a ranged file or a whole smaller file. It starts as one segment (one
byte-range stream). When a connection has nothing left to do, it takes the back part of the
segment that would take longest to finish (half of it, less what the segment writes while the
new request is answered): that segment stops at the cut, and a new one fetches the rest into
the same temp. Each segment keeps the crc32c of what it wrote, so a
retry resumes where it stopped and the span's crc32c is their combination. The hashers that
cannot be combined (sha256, md5) are fed off the wire's loop thread (`_driver`), which hashing
would hold up: the thread waiting for a whole file's first segment reads back what it has
written so far, now and then, and what later segments wrote is read back when the last one
ends.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from podkit.worker.transfer.verify import READBACK_BLOCK, Crc32c, Hasher, combine_chunks

MiB = 1024 * 1024
SPLIT_MIN_BYTES = 512 * 1024  # a segment with less to come is not worth a request
# Nor one that finishes sooner than this at its rate, or than twice the time a request takes
# to answer (the new segment's bytes start that much later: a split gains only past it).
SPLIT_MIN_SECONDS = 0.015
MAX_SEGMENTS = 8  # per span
SPLITTABLE = 4 * MiB  # smaller whole files stay one plain stream
ANSWERS_KEPT = 8


class AnswerTimes:
    """How long byte ranges take to answer: the shortest of the last few. The first ones of a
    sync also open their connections (TCP, TLS), which a split on a connection already open
    does not wait for; a mean of them would hold back splits the whole sync long."""

    def __init__(self) -> None:
        self._kept: deque[float] = deque(maxlen=ANSWERS_KEPT)
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        with self._lock:
            self._kept.append(seconds)

    def shortest(self) -> float:
        """Seconds (0 before the first answer)."""
        with self._lock:
            return min(self._kept, default=0.0)


@dataclass(eq=False)
class Segment:
    """Bytes [start, end), claimed by its stream up to `position` and written up to `written_to`
    (a claim comes before its write). A split lowers `end` under the same lock, so a block is
    either claimed before the cut or not at all. `crc` (when the source records crc32c) covers
    [start, position)."""

    start: int
    end: int
    position: int
    began: float = 0.0  # clock() when it was created
    written_to: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    crc: Crc32c | None = None

    @property
    def remaining(self) -> int:
        return self.end - self.position

    def claim(self, size: int) -> tuple[int, int]:
        """Take up to `size` bytes at `position` for writing: (their offset, how many)."""
        with self.lock:
            offset = self.position
            take = max(0, min(size, self.end - offset))
            self.position += take
            return offset, take

    def seconds_left(self, now: float) -> float | None:
        """At the rate so far; None before its first bytes (its rate is unknown)."""
        written, elapsed = self.position - self.start, now - self.began
        if written <= 0 or elapsed <= 0:
            return None
        return self.remaining * elapsed / written


class Span:
    """Bytes [start, end) of one file: its segments, and how many of their units still run."""

    def __init__(self, start: int, end: int, *, crc32c: bool, now: float = 0.0) -> None:
        self.start, self.end = start, end
        self.checks_crc32c = crc32c
        self.running = 1
        self.ok = True
        self._lock = threading.Lock()
        self.segments = [self._segment(start, end, now)]

    def _segment(self, start: int, end: int, now: float) -> Segment:
        crc = Crc32c() if self.checks_crc32c else None
        return Segment(start, end, start, began=now, written_to=start, lock=self._lock, crc=crc)

    @property
    def head(self) -> Segment:
        return self.segments[0]

    def seconds_left(self, now: float) -> float:
        """How long its slowest segment still needs (0 when none can tell yet)."""
        return max((s.seconds_left(now) or 0.0 for s in self.segments), default=0.0)

    def split(self, now: float, answer: float = 0.0) -> Segment | None:
        """Cut the segment that needs longest in two; the new back part is returned to be
        fetched by the caller. `answer`: the seconds a request takes to answer, which the new
        segment loses before its first byte, so the cut leaves it that much less and both
        parts end together. None when no segment is worth it."""
        with self._lock:
            if not self.ok or len(self.segments) >= MAX_SEGMENTS:
                return None
            timed = [(s.seconds_left(now), s) for s in self.segments]
            candidates = [(left, s) for left, s in timed if left is not None]
            if not candidates:
                return None
            left, victim = max(candidates, key=lambda pair: pair[0])
            remaining = victim.remaining
            if remaining < SPLIT_MIN_BYTES or left < max(SPLIT_MIN_SECONDS, 2 * answer):
                return None
            lost = int(remaining * answer / left)  # what the victim writes while the tail waits
            tail = self._segment(victim.end - (remaining - lost) // 2, victim.end, now)
            victim.end = tail.start
            self.segments.append(tail)
            self.running += 1
            return tail

    def part_ended(self, ok: bool) -> bool:
        """Record the end of one segment's unit; True for the last one, which finishes up."""
        with self._lock:
            self.ok = self.ok and ok
            self.running -= 1
            return self.running == 0

    def written(self) -> int:
        return sum(s.position - s.start for s in self.segments)

    def crc32c(self) -> int:
        """The span's crc32c, from its segments' (0 when the source records none)."""
        if not self.checks_crc32c:
            return 0
        ordered = sorted(self.segments, key=lambda s: s.start)
        return combine_chunks([(s.crc.value if s.crc else 0, s.end - s.start) for s in ordered])


class WholeFile(Span):
    """A whole file as one span: its temp, and the hashers that read it back as it is written."""

    def __init__(
        self, temp: Path, size: int, *, crc32c: bool, hashers: dict[str, Hasher], now: float
    ) -> None:
        super().__init__(0, size, crc32c=crc32c, now=now)
        self.temp = temp
        self.hashers = hashers
        self._hashed = 0  # the hashers have read [0, _hashed)

    @classmethod
    def create(
        cls, temp: Path, size: int, *, crc32c: bool, hashers: dict[str, Hasher], now: float
    ) -> WholeFile:
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666))
        return cls(temp, size, crc32c=crc32c, hashers=hashers, now=now)

    def hash_ahead(self) -> None:
        """Feed the hashers what the first segment has written since the last call (from the
        page cache: it was just written). Only the thread fetching that segment calls this,
        while it waits for it; what is left is read by `digests`."""
        if self.hashers:
            with contextlib.suppress(OSError):  # gone with a restart; `digests` reports it
                self._hash_to(self.head.written_to)

    def digests(self) -> dict[str, str]:
        """Read the rest of the file back into the hashers; every digest."""
        digests = {"crc32c": f"{self.crc32c():08x}"} if self.checks_crc32c else {}
        if not self.hashers:
            return digests
        self._hash_to(self.end)
        return digests | {name: hasher.hexdigest() for name, hasher in self.hashers.items()}

    def _hash_to(self, end: int) -> None:
        offset = self._hashed
        if offset >= end:
            return
        fd = os.open(self.temp, os.O_RDONLY)
        try:
            while offset < end:
                block = os.pread(fd, min(READBACK_BLOCK, end - offset), offset)
                if not block:
                    raise OSError(f"{self.temp.name} is shorter than expected")
                for hasher in self.hashers.values():
                    hasher.update(block)
                offset += len(block)
                self._hashed = offset
        finally:
            os.close(fd)
