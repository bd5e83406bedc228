"""Where the small-file loop's bodies land: one thread of its own verifies each body in
memory, writes it to its temp, renames it into place and books it (state, progress, outcome),
so the loop's thread only drives libcurl. hashlib and the file calls let go of the GIL, so the
two run at once on two cores.

A body that fails its checksum, or cannot be written, goes back to the runner's one-file path
(`Host.start`), which fetches it again and fails it there in its own words if it must. The
thread never leaves a file half-written under its final name: the temp is renamed only once
it is all written, and removed on any failure.
"""

from __future__ import annotations

# Path strings on purpose: a Path made, parsed and printed per small file cost a third of
# landing it.
# ruff: noqa: PTH105, PTH108
import contextlib
import os
import queue
import threading
from dataclasses import dataclass
from typing import Protocol

from podkit.worker.transfer.jobs import FileJob, Outcome, SyncOptions
from podkit.worker.transfer.journal import TEMP_SUFFIX
from podkit.worker.transfer.owner import Owner
from podkit.worker.transfer.progress import Tracker
from podkit.worker.transfer.verify import Crc32c


class Host(Protocol):
    """What landing needs of the runner."""

    options: SyncOptions
    tracker: Tracker
    owner: Owner

    def start(self, job: FileJob) -> None: ...
    def fail(self, job: FileJob, message: str) -> None: ...
    def finish(self, job: FileJob, placed: os.stat_result | None = None) -> None: ...


@dataclass(slots=True)
class Body:
    """A complete 200 of the loop: the job it is for, of which epoch, from where."""

    job: FileJob
    epoch: int
    url: str
    data: bytes


class Lander:
    """One thread that lands the bodies handed to it, a batch at a time, in order."""

    def __init__(self, host: Host) -> None:
        self._host = host
        self._inbox: queue.SimpleQueue[list[Body] | None] = queue.SimpleQueue()
        self.sent = 0  # bytes handed over (written by the loop's thread only)
        self.landed = 0  # bytes done with (written by this thread only)
        self._thread = threading.Thread(target=self._run, name="podkit-sync-land", daemon=True)
        self._thread.start()

    @property
    def backlog(self) -> int:
        """Bytes handed over and not yet landed: memory held besides the loop's window."""
        return self.sent - self.landed

    def put(self, bodies: list[Body]) -> None:
        self.sent += sum(len(body.data) for body in bodies)
        self._inbox.put(bodies)

    def close(self) -> None:
        """Land what was handed over, then end the thread."""
        self._inbox.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (bodies := self._inbox.get()) is not None:
            for body in bodies:
                land_guarded(self._host, body)
                self.landed += len(body.data)


def land_guarded(host: Host, body: Body) -> None:
    try:
        land(host, body)
    except Exception as exc:  # a bug fails its file, as the pool's guard does, not the thread
        body.job.set_outcome(Outcome.FAILED, f"internal error: {type(exc).__name__}: {exc}")


def land(host: Host, body: Body) -> None:
    """Verify a body, then place and book its file; a mismatch or a write that fails goes
    back to the one-file path (a file that never matches fails after the verify attempts)."""
    job, data = body.job, body.data
    if not job.active(body.epoch):
        return
    wrong = _mismatches(job, data)
    if wrong:
        job.verify_failures += 1
        if job.verify_failures >= host.options.verify_attempts:
            host.fail(job, f"{body.url}: {wrong} mismatch after {job.verify_failures} downloads")
        else:
            host.start(job)
        return
    try:
        placed = _place(os.fspath(job.final), host.owner.tag(), data)
    except OSError:
        host.start(job)  # the one-file path writes it again, or fails it in its own words
        return
    job.bytes_fetched += len(data)
    host.tracker.add(len(data), job.remote.path)
    host.finish(job, placed)


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


def _place(final: str, tag: str, body: bytes) -> os.stat_result:
    """Write a verified body to its temp (`journal.temp_name`, as a string: no Path made per
    file) and rename it to `final`; the stat the state file records (a rename keeps size and
    mtime)."""
    folder, sep, name = final.rpartition(os.sep)
    temp = f"{folder}{sep}.{name}.{tag}{TEMP_SUFFIX}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view) :]
            placed = os.fstat(fd)
        finally:
            os.close(fd)
        os.replace(temp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return placed
