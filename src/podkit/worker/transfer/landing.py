"""Where the small-file loop's bodies land: each is verified in memory, written to its temp,
renamed into place and booked (state, progress, outcome).

A body that fails its checksum, or cannot be written, goes back to the runner's one-file path
(`Host.start`), which fetches it again and fails it there in its own words if it must. Nothing
is ever left half-written under its final name: the temp is renamed only once it is all
written, and removed on any failure.

This runs in the loop's own thread. A thread of its own for it (the loop handing each step's
bodies over in one batch) was measured and dropped: on two shared cores it cost more CPU per
file and gave fewer files/s (bench/RESULTS.md, run N5).
"""

from __future__ import annotations

# Path strings on purpose: a Path made, parsed and printed per small file cost about a third of
# landing it.
# ruff: noqa: PTH105, PTH108
import contextlib
import os
from typing import Protocol

from podkit.worker.transfer.jobs import FileJob, Outcome, SyncOptions, failed_in_words
from podkit.worker.transfer.journal import TEMP_SUFFIX, side_stem
from podkit.worker.transfer.owner import Owner
from podkit.worker.transfer.progress import Tracker


class Host(Protocol):
    """What landing needs of the runner."""

    options: SyncOptions
    tracker: Tracker
    owner: Owner

    def start(self, job: FileJob) -> None: ...
    def fail(self, job: FileJob, message: str) -> None: ...
    def finish(self, job: FileJob, placed: os.stat_result | None = None) -> None: ...


def land_guarded(host: Host, job: FileJob, epoch: int, url: str, data: bytes) -> None:
    try:
        land(host, job, epoch, url, data)
    except Exception as exc:  # fails its file, as the pool's guard does, not the loop
        job.set_outcome(Outcome.FAILED, failed_in_words(exc))


def land(host: Host, job: FileJob, epoch: int, url: str, data: bytes) -> None:
    """Verify the body of `url`, then place and book its file; a mismatch or a write that
    fails goes back to the one-file path (a file that never matches fails after the verify
    attempts)."""
    if not job.active(epoch):
        return
    wrong = _mismatches(job, data)
    if wrong:
        job.verify_failures += 1
        if job.verify_failures >= host.options.verify_attempts:
            host.fail(job, f"{url}: {wrong} mismatch after {job.verify_failures} downloads")
        else:
            host.start(job)
        return
    try:
        placed = _place(job.target, host.owner.tag(), data)
    except OSError:
        host.start(job)  # the one-file path writes it again, or fails it in its own words
        return
    job.bytes_fetched += len(data)
    host.tracker.add(len(data), job.remote.path)
    host.finish(job, placed)


def _mismatches(job: FileJob, body: bytes) -> str:
    """The checks the body fails, in words ("" when it passes)."""
    wrong = job.remote.expected.body_mismatches(body)
    if len(body) != job.remote.size:
        wrong.append("size")
    return ", ".join(wrong)


def _place(final: str, tag: str, body: bytes) -> os.stat_result:
    """Write a verified body to its temp (`journal.temp_name`, as a string: no Path made per
    file) and rename it to `final`; the stat the state file records (a rename keeps size and
    mtime)."""
    folder, sep, name = final.rpartition(os.sep)
    temp = f"{folder}{sep}.{side_stem(name)}.{tag}{TEMP_SUFFIX}"
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
