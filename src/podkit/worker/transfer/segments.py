"""Whole-file downloads that idle connections can split, so the last files end together.

A file at or under the range threshold streams from byte 0 as one segment, hashed as it
arrives. When a connection has nothing left to do, it takes the back half of the segment that
would take longest to finish: that segment stops at the cut, and a new one fetches the rest as
a byte range into the same temp. Without this, the last files of a sync wait on their slowest
connections while the others idle. What later segments wrote is read back into the hashers
when the last one ends (sha256 cannot be combined from parts).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from podkit.worker.transfer.verify import READBACK_BLOCK, Hasher

MiB = 1024 * 1024
SPLIT_MIN_BYTES = 2 * MiB  # a segment with less to come is not worth a request
SPLIT_MIN_SECONDS = 0.05  # nor one that will finish sooner than this at its rate
MAX_SEGMENTS = 8  # per file
SPLITTABLE = 2 * SPLIT_MIN_BYTES  # smaller files stay one plain stream


@dataclass(eq=False)
class Segment:
    """Bytes [start, end) of a file, claimed by its stream up to `position`. A split lowers
    `end` under the same lock, so a block is either claimed before the cut or not at all."""

    start: int
    end: int
    position: int
    began: float = 0.0  # clock() when its current request started
    lock: threading.Lock = field(default_factory=threading.Lock)

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

    def restart(self, now: float) -> int:
        """Back to `start` for another request; the bytes it had claimed."""
        with self.lock:
            claimed, self.position, self.began = self.position - self.start, self.start, now
            return claimed

    def seconds_left(self, now: float) -> float | None:
        """At the rate so far; None before its first bytes (its rate is unknown)."""
        written, elapsed = self.position - self.start, now - self.began
        if written <= 0 or elapsed <= 0:
            return None
        return self.remaining * elapsed / written


@dataclass(eq=False)
class WholeFile:
    """One whole-file download: its temp (open for writing), its segments, and how many of
    their units are still running. The first segment feeds `hashers` as it streams."""

    temp: Path
    size: int
    fd: int  # open for reading too: the tail is read back through it
    hashers: dict[str, Hasher] = field(default_factory=dict, init=False)
    segments: list[Segment] = field(default_factory=list, init=False)
    running: int = field(default=1, init=False)
    ok: bool = field(default=True, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.segments.append(Segment(0, self.size, 0, lock=self._lock))

    @classmethod
    def create(cls, temp: Path, size: int) -> WholeFile:
        return cls(temp, size, os.open(temp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o666))

    @property
    def head(self) -> Segment:
        return self.segments[0]

    def seconds_left(self, now: float) -> float:
        """How long its slowest segment still needs (0 when none can tell yet)."""
        return max((s.seconds_left(now) or 0.0 for s in self.segments), default=0.0)

    def split(self, now: float) -> Segment | None:
        """Cut the segment that needs longest in two; the new back half is returned to be
        fetched by the caller. None when no segment is worth it."""
        with self._lock:
            if not self.ok or len(self.segments) >= MAX_SEGMENTS:
                return None
            timed = [(s.seconds_left(now), s) for s in self.segments]
            candidates = [(left, s) for left, s in timed if left is not None]
            if not candidates:
                return None
            left, victim = max(candidates, key=lambda pair: pair[0])
            if victim.remaining < SPLIT_MIN_BYTES or left < SPLIT_MIN_SECONDS:
                return None
            cut = victim.end - victim.remaining // 2
            tail = Segment(cut, victim.end, cut, began=now, lock=self._lock)
            victim.end = cut
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

    def digests(self) -> dict[str, str]:
        """Feed the bytes after the first segment into the hashers and return every digest."""
        offset = self.head.end if self.hashers else self.size
        while offset < self.size:
            block = os.pread(self.fd, min(READBACK_BLOCK, self.size - offset), offset)
            if not block:
                raise OSError(f"{self.temp.name} is shorter than expected")
            for hasher in self.hashers.values():
                hasher.update(block)
            offset += len(block)
        return {name: hasher.hexdigest() for name, hasher in self.hashers.items()}

    def close(self) -> None:
        os.close(self.fd)
