"""Progress as a callback: the engine reports, the CLI and the worker render (STYLE habit 8)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Progress:
    """A snapshot: bytes and files done of the total, rate in bytes/s, ETA in seconds."""

    phase: str  # "plan" | "transfer" | "verify" | "done"
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int
    rate: float
    eta_s: float | None
    current: str = ""
    resumed_bytes: int = 0  # part of bytes_done kept from an earlier, interrupted run

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


ProgressCallback = Callable[[Progress], None]


class Tracker:
    """Thread-safe counters that call back at most every `interval` seconds, one call at a time."""

    def __init__(
        self,
        callback: ProgressCallback | None,
        *,
        interval: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._callback = callback
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._emit_lock = threading.Lock()  # callbacks never run concurrently
        self._started = clock()
        self._last = 0.0
        self.phase = "plan"
        self.bytes_done = self.bytes_total = self.files_done = self.files_total = 0
        self._fresh_bytes = 0
        self.resumed = 0
        self.current = ""

    def begin(self, bytes_total: int, files_total: int, already: int = 0) -> None:
        with self._lock:
            self.phase = "transfer"
            self.bytes_total, self.files_total = bytes_total, files_total
            self.bytes_done = already
            self._started = self._clock()
        self.emit(force=True)

    def add(self, count: int, current: str = "") -> None:
        with self._lock:
            self.bytes_done += count
            self._fresh_bytes += count
            if current:
                self.current = current
        self.emit()

    @property
    def fetched(self) -> int:
        """Bytes fetched by this run so far (less those of attempts that were dropped)."""
        return self._fresh_bytes

    def resume(self, count: int) -> None:
        """Bytes already on the volume from an interrupted run (not fetched now)."""
        with self._lock:
            self.bytes_done += count
            self.resumed += count
        self.emit()

    def resize(self, delta: int) -> None:
        """A file changed size at its source mid-sync and is fetched again in its new version."""
        with self._lock:
            self.bytes_total += delta

    def file_done(self, path: str) -> None:
        with self._lock:
            self.files_done += 1
            self.current = path
        self.emit()

    def snapshot(self) -> Progress:
        with self._lock:
            elapsed = max(1e-6, self._clock() - self._started)
            rate = self._fresh_bytes / elapsed
            left = max(0, self.bytes_total - self.bytes_done)
            eta = left / rate if rate > 0 else None
            return Progress(
                self.phase, self.bytes_done, self.bytes_total, self.files_done,
                self.files_total, rate, eta, self.current, self.resumed,
            )  # fmt: skip

    def emit(self, *, force: bool = False) -> None:
        if self._callback is None:
            return
        now = self._clock()
        if not force and now - self._last < self._interval:
            return  # the common case, decided without the lock
        with self._lock:
            if not force and now - self._last < self._interval:
                return
            self._last = now
        with self._emit_lock:
            self._callback(self.snapshot())

    def finish(self) -> None:
        with self._lock:
            self.phase = "done"
        self.emit(force=True)
