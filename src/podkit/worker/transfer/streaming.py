"""One request's body into a temp file: a segment's byte range (of a chunk or of a whole
file), or a small file in one stream, with the checks on the way (a changed source,
Content-Range and its total, length, checksums, the deadline).

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
    Response,
    RetryableFetchError,
    raise_for_status,
)
from podkit.worker.transfer.jobs import FileJob
from podkit.worker.transfer.progress import Tracker
from podkit.worker.transfer.segments import AnswerTimes, Segment
from podkit.worker.transfer.verify import Crc32c, Hasher

_IOV_MAX = 512  # blocks per pwritev: the kernel takes 1,024 at most (UIO_MAXIOV)


class SourceChanged(Exception):
    """The pinned version is gone (404 on a generation, 412 on If-Match)."""


class DeadlineReached(Exception):
    """The sync must stop now to finish before the execution timeout."""


class Superseded(Exception):
    """The job moved on (restarted, failed or stopped) while this request was streaming."""


class ChecksumMismatch(RetryableFetchError):
    """A download did not match its checksum or listed size (corruption on the way, or a
    source that changed without a new version to pin)."""


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
        self.answers = AnswerTimes()  # what splitting a segment loses before its first byte

    def part(
        self,
        job: FileJob,
        epoch: int,
        temp: Path,
        segment: Segment,
        idle: Callable[[], None] | None = None,
    ) -> int:
        """Fetch a segment of a span into `temp` from where it stands (a retry resumes: its
        crc32c covers what it wrote); the bytes written by this attempt. `idle` runs now and
        then while the segment streams (see `byte_range`)."""
        fd = os.open(temp, os.O_WRONLY)
        try:
            return self.byte_range(job, epoch, fd, segment, idle)
        finally:
            os.close(fd)

    def byte_range(
        self,
        job: FileJob,
        epoch: int,
        fd: int,
        segment: Segment,
        idle: Callable[[], None] | None = None,
    ) -> int:
        """Fetch the segment from its position as a byte range; the bytes it wrote. The
        blocks are written on the wire's loop thread; this thread runs `idle` meanwhile."""
        remote = job.remote
        start, end = segment.position, segment.end
        if start >= end:
            return 0
        headers = {**job.source.headers(remote.url), **dict(remote.pin_headers)}
        headers["Range"] = f"bytes={start}-{end - 1}"
        asked = self._clock()
        with self.fetcher.open(remote.url, headers) as response:
            self.answers.add(self._clock() - asked)
            self._check_changed(job, response)
            if response.status == 206:
                span, _, total = (response.header("Content-Range") or "").partition("/")
                if total.strip().isdigit() and int(total) != remote.size:
                    raise ChecksumMismatch(f"{remote.url}: size mismatch ({total.strip()} bytes)")
                if span.strip() != f"bytes {start}-{end - 1}":
                    raise RetryableFetchError(f"{remote.url}: unexpected Content-Range {span!r}")
                skip = 0
            else:
                raise_for_status(response, expected=(200,))
                skip = start  # the server ignored Range: read past the bytes before ours
            response.drain(self._sink(job, epoch, fd, segment, skip), idle)
        if segment.position < segment.end:
            raise RetryableFetchError(
                f"{job.remote.url}: body ended after {segment.position - segment.start}"
                f" of {segment.end - segment.start} bytes"
            )
        return segment.position - start

    def whole(self, job: FileJob, temp: Path) -> int:
        """Fetch a small file into `temp` in one stream and check it; its size."""
        remote = job.remote
        headers = {**job.source.headers(remote.url), **dict(remote.pin_headers)}
        hashers = remote.expected.streaming_hashers()
        if remote.expected.crc32c:
            hashers["crc32c"] = Crc32c()
        with self.fetcher.open(remote.url, headers) as response:
            self._check_changed(job, response)
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

    def _check_changed(self, job: FileJob, response: Response) -> None:
        if response.status in job.source.changed_statuses:
            raise SourceChanged
        if response.status in (200, 206):
            for name, value in job.remote.validators:
                said = response.header(name)
                if said is not None and said != value:
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

    def _sink(
        self, job: FileJob, epoch: int, fd: int, segment: Segment, skip: int
    ) -> Callable[[list[bytes]], bool]:
        """What takes a body's blocks for the segment: writes them at its position up to its
        end, dropping the first `skip` bytes (a server that ignored Range), several blocks in
        one `pwritev`, never joined into one copy. It runs on the wire's loop thread, once
        per step that brought blocks (and now and then without: the deadline is checked),
        and says when the segment is whole."""
        skipping = skip
        path, crc, tracker = job.remote.path, segment.crc, self.tracker
        past_deadline = self._past_deadline

        def take(blocks: list[bytes]) -> bool:
            nonlocal skipping
            if skipping and blocks:
                blocks, skipping = _drop_front(blocks, skipping)
            if blocks:
                offset, size = segment.claim(sum(map(len, blocks)))
                if size:
                    blocks = _first(blocks, size)
                    _pwrite_all(fd, blocks, offset)
                    segment.written_to = offset + size
                    if crc is not None:
                        for block in blocks:
                            crc.update(block)
                    tracker.add(size, path)
            if past_deadline():
                raise DeadlineReached
            if not job.active(epoch):
                raise Superseded
            return segment.position >= segment.end

        return take


def _drop_front(blocks: list[bytes], skip: int) -> tuple[list[bytes], int]:
    """The blocks less their first `skip` bytes, and what is left to skip after them."""
    kept: list[bytes] = []
    for block in blocks:
        cut = min(skip, len(block))
        skip -= cut
        if cut < len(block):
            kept.append(block[cut:] if cut else block)
    return kept, skip


def _first(blocks: list[bytes], size: int) -> list[bytes]:
    """The first `size` bytes of the blocks (all of them when they hold no more)."""
    kept: list[bytes] = []
    for block in blocks:
        if size <= 0:
            break
        kept.append(block if len(block) <= size else block[:size])
        size -= len(block)
    return kept


def _pwrite_all(fd: int, blocks: list[bytes], offset: int) -> None:
    """Write the blocks at `offset` (at most _IOV_MAX per call), resuming after a short write."""
    pending = blocks
    while pending:
        group = pending[:_IOV_MAX]
        written = os.pwritev(fd, group, offset)
        offset += written
        done = 0
        while done < len(group) and written >= len(group[done]):
            written -= len(group[done])
            done += 1
        pending = pending[done:]
        if written:
            pending[0] = pending[0][written:]
