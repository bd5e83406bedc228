"""One request's body into a temp file: a chunk, a segment's byte range, or a whole stream,
with the checks on the way (a changed source, Content-Range, length, checksums, the deadline).

The runner decides what to fetch and retries; what happens between sending a request and the
last byte written is here. Every byte written is counted in the tracker, and taken back when
an attempt's bytes are not kept.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from podkit.worker.transfer._fetch import (
    READ_BLOCK,
    Fetcher,
    RetryableFetchError,
    raise_for_status,
)
from podkit.worker.transfer.jobs import FileJob
from podkit.worker.transfer.progress import Tracker
from podkit.worker.transfer.segments import Segment, WholeFile
from podkit.worker.transfer.verify import Crc32c, Expected, Hasher


class SourceChanged(Exception):
    """The pinned version is gone (404 on a generation, 412 on If-Match)."""


class DeadlineReached(Exception):
    """The sync must stop now to finish before the execution timeout."""


class Superseded(Exception):
    """The job moved on (restarted, failed or stopped) while this request was streaming."""


class ChecksumMismatch(RetryableFetchError):
    """A whole-file download did not match its checksum (corruption on the way)."""


def stream_hashers(expected: Expected) -> dict[str, Hasher]:
    """Every checksum a single stream from byte 0 can compute as it goes."""
    hashers = expected.streaming_hashers()
    if expected.crc32c:
        hashers["crc32c"] = Crc32c()
    return hashers


class Streamer:
    """Fetches into open temp files for the runner's units."""

    def __init__(
        self,
        fetcher: Fetcher,
        tracker: Tracker,
        past_deadline: Callable[[], bool],
        clock: Callable[[], float],
    ) -> None:
        self.fetcher = fetcher
        self.tracker = tracker
        self._past_deadline = past_deadline
        self._clock = clock

    def chunk(self, job: FileJob, epoch: int, temp: Path, start: int, end: int) -> int:
        """Fetch one chunk of a ranged file; its crc32c (0 when the source has no crc32c to
        check: hashing costs CPU a fast link needs)."""
        crc = Crc32c() if job.remote.expected.crc32c else None
        chunk = Segment(start, end, start)
        fd = os.open(temp, os.O_WRONLY)
        try:
            self.byte_range(job, epoch, fd, chunk, [crc] if crc is not None else [])
        except BaseException:
            self.tracker.add(start - chunk.position)  # this attempt's bytes are not kept
            raise
        finally:
            os.close(fd)
        job.bytes_fetched += end - start
        return crc.value if crc is not None else 0

    def byte_range(
        self, job: FileJob, epoch: int, fd: int, segment: Segment, hashers: list[Hasher]
    ) -> int:
        """Fetch the segment from its position as a byte range; the bytes it wrote."""
        remote = job.remote
        start, end = segment.position, segment.end
        if start >= end:
            return 0
        headers = {**job.source.headers(remote.url), **dict(remote.pin_headers)}
        headers["Range"] = f"bytes={start}-{end - 1}"
        with self.fetcher.open(remote.url, headers) as response:
            self.check_changed(job, response.status)
            if response.status == 206:
                span = (response.header("Content-Range") or "").split("/")[0]
                if span.strip() != f"bytes {start}-{end - 1}":
                    raise RetryableFetchError(f"{remote.url}: unexpected Content-Range {span!r}")
                skip = 0
            else:
                raise_for_status(response, expected=(200,))
                skip = start  # the server ignored Range: read past the bytes before ours
            self._fill(job, epoch, response.read, fd, segment, hashers, skip)
        return segment.position - start

    def head(self, job: FileJob, epoch: int, whole: WholeFile) -> int:
        """Stream a splittable file from byte 0 (one plain GET, as for small files), hashing
        as it goes, until its first segment's end (which a split may lower meanwhile)."""
        remote = job.remote
        # A retry starts over from byte 0, and so do the hashes.
        self.tracker.add(-whole.head.restart(self._clock()))
        whole.hashers = stream_hashers(remote.expected)
        headers = {**job.source.headers(remote.url), **dict(remote.pin_headers)}
        with self.fetcher.open(remote.url, headers) as response:
            self.check_changed(job, response.status)
            raise_for_status(response, expected=(200,))
            length = response.header("Content-Length")
            if length is not None and length != str(remote.size):
                raise ChecksumMismatch(f"{remote.url}: size mismatch")
            self._fill(job, epoch, response.read, whole.fd, whole.head, [*whole.hashers.values()])
        return whole.head.position

    def whole(self, job: FileJob, temp: Path) -> int:
        """Fetch a small file into `temp` in one stream and check it; its size."""
        remote = job.remote
        headers = {**job.source.headers(remote.url), **dict(remote.pin_headers)}
        hashers = stream_hashers(remote.expected)
        with self.fetcher.open(remote.url, headers) as response:
            self.check_changed(job, response.status)
            raise_for_status(response, expected=(200,))
            # A bare fd: no buffer object, no isatty/fstat probes. Small files are mostly
            # system calls, and each one is a GIL hand-off between the pool's threads.
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
            try:
                written = self._write_body(job, response.read, fd, hashers)
            finally:
                os.close(fd)
        digests = {name: h.hexdigest() for name, h in hashers.items()}
        wrong = remote.expected.mismatches(digests)
        if written != remote.size:
            wrong.append("size")
        if wrong:
            self.tracker.add(-written)
            raise ChecksumMismatch(f"{remote.url}: {', '.join(wrong)} mismatch")
        job.bytes_fetched += written
        return written

    def check_changed(self, job: FileJob, status: int) -> None:
        if status in job.source.changed_statuses:
            raise SourceChanged

    def _write_body(
        self, job: FileJob, read: Callable[[int], bytes], fd: int, hashers: dict[str, Hasher]
    ) -> int:
        written = 0
        try:
            while block := read(READ_BLOCK):
                view = memoryview(block)
                while view:
                    view = view[os.write(fd, view) :]
                for hasher in hashers.values():
                    hasher.update(block)
                written += len(block)
                self.tracker.add(len(block), job.remote.path)
                if self._past_deadline():
                    raise DeadlineReached
        except BaseException:
            self.tracker.add(-written)  # a retry fetches them again
            raise
        return written

    def _fill(
        self,
        job: FileJob,
        epoch: int,
        read: Callable[[int], bytes],
        fd: int,
        segment: Segment,
        hashers: list[Hasher],
        skip: int = 0,
    ) -> None:
        """Write body bytes at the segment's position up to its end, dropping the first
        `skip` (a server that ignored Range)."""
        while segment.position < segment.end:
            block = read(READ_BLOCK)
            if not block:
                raise RetryableFetchError(
                    f"{job.remote.url}: body ended after {segment.position - segment.start}"
                    f" of {segment.end - segment.start} bytes"
                )
            if skip:
                cut = min(skip, len(block))
                block, skip = block[cut:], skip - cut
            offset, take = segment.claim(len(block))
            if take:
                block = block[:take] if take < len(block) else block
                os.pwrite(fd, block, offset)
                for hasher in hashers:
                    hasher.update(block)
                self.tracker.add(take, job.remote.path)
            if self._past_deadline():
                raise DeadlineReached
            if not job.active(epoch):
                raise Superseded
