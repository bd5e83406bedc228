"""The bounded pool: every unit (a segment of a chunk of a large file or of a whole file, a
file in one stream, or the loop that fetches the small files many at once, `small.py`) runs
on one of `connections` threads, so the connection budget is global across files and
sources: the loop keeps in flight what the other units leave of it (`window`). A segment's
bytes move on the wire's one loop thread (`_driver.py`) while its unit's thread waits for
them (hashing a whole file as it is written), then journals, verifies or retries; idle
threads split the slowest span in flight (`spans.py`).

Each file goes to a unique temp, is verified, then `os.replace`d into place; nothing partial
is ever visible under a final name. Ranged files keep a chunk journal for resume.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from podkit.worker.transfer import lease
from podkit.worker.transfer._fetch import Fetcher, FetchError, RetryableFetchError
from podkit.worker.transfer.jobs import (
    Budget,
    FileJob,
    Outcome,
    SyncOptions,
    chunk_size_for,
    failed_in_words,
    in_words,
    split_chunks,
)
from podkit.worker.transfer.journal import Journal, adopt_or_create, temp_name
from podkit.worker.transfer.owner import Owner
from podkit.worker.transfer.pool import Pool
from podkit.worker.transfer.progress import Tracker
from podkit.worker.transfer.scaling import Scaler
from podkit.worker.transfer.segments import SPLITTABLE, Span, WholeFile
from podkit.worker.transfer.small import SmallFiles, batched
from podkit.worker.transfer.spans import Fetching, Spans
from podkit.worker.transfer.state import Recorded, record_for
from podkit.worker.transfer.streaming import (
    ChecksumMismatch,
    DeadlineReached,
    SourceChanged,
    Streamer,
    Superseded,
)
from podkit.worker.transfer.verify import PrefixHasher, combine_chunks, readback_digests

_RNG = random.Random()
SCALE_EVERY = 0.05  # seconds between two looks at the rate while the budget may grow


class Runner:
    """Runs FileJobs to completion under one connection budget."""

    def __init__(
        self,
        options: SyncOptions,
        fetcher: Fetcher,
        tracker: Tracker,
        owner: Owner,
        record: Callable[[FileJob, Recorded], None],
    ) -> None:
        self.options = options
        self.fetcher = fetcher
        self.tracker = tracker
        self.owner = owner
        self._record = record
        self.streamer = Streamer(fetcher, tracker, self.past_deadline, options.clock)
        self.spans = Spans(self)
        self._pool = Pool(
            max(1, options.connections), "podkit-sync",
            on_idle=self.spans.offer_split, on_exit=fetcher.release_thread,
        )  # fmt: skip
        self._pending = 0
        self._cond = threading.Condition()
        self.waiting: list[FileJob] = []
        self.active: set[FileJob] = set()  # jobs holding a journal or lease (heartbeat)
        self._active_lock = threading.Lock()
        self.stop = threading.Event()  # set on Ctrl-C: stop like at the deadline, keep chunks
        self._closing = threading.Event()
        self._scaling: threading.Thread | None = None
        if options.grow_to is not None and options.grow_to > options.connections:
            budget = (options.budget or Scaler)(options.connections, options.grow_to)
            self._scaling = threading.Thread(
                target=self._scale, args=(budget,), name="podkit-sync-scale", daemon=True
            )
            self._scaling.start()

    @property
    def connections(self) -> int:
        """The connection budget now (an automatic one's last size, once the run ended)."""
        return self._pool.size

    def _scale(self, budget: Budget) -> None:
        """Run at the budget's size until it settles or the run ends; it judges the rate by the
        wall clock, whatever clock the options carry for deadlines."""
        while not self._closing.wait(SCALE_EVERY) and not self.past_deadline():
            size = budget.observe(time.monotonic(), self.tracker.fetched)
            if size != self._pool.size:
                self._pool.resize(size)
            if budget.settled:
                return

    # -- scheduling -------------------------------------------------------------------

    def submit(self, fn: Callable[..., None], *args: object) -> None:
        with self._cond:
            self._pending += 1
        self._pool.submit(self._guard, fn, *args)

    def _guard(self, fn: Callable[..., None], *args: object) -> None:
        try:
            fn(*args)
        except Exception as exc:  # the volume refused, or a bug: the job reports it, no hang
            job = args[0] if args else None
            if isinstance(job, FileJob) and job.set_outcome(Outcome.FAILED, failed_in_words(exc)):
                with contextlib.suppress(OSError):
                    self._discard(job)  # its journal, temp and lease go, as for any failure
        finally:
            with self._cond:
                self._pending -= 1
                if not self._pending:  # waking the waiter per unit costs small files dearly
                    self._cond.notify_all()

    def wait(self) -> None:
        with self._cond:
            while self._pending:
                self._cond.wait(timeout=1.0)

    def close(self) -> None:
        self._closing.set()
        if self._scaling is not None:
            self._scaling.join()
        # After a stop, queued units are dropped; running ones end at their next block.
        self._pool.shutdown(cancel=self.stop.is_set())
        self.spans.end_all()  # a dropped unit's span: nobody else ends it

    def start_all(self, jobs: list[FileJob]) -> None:
        """Queue jobs, small files last and together: one unit fetches them in one loop."""
        small = [job for job in jobs if batched(job)]
        for job in jobs:
            if not batched(job):
                self.start(job)
        if small:
            self.submit(SmallFiles(self, small).run)

    def fill(self) -> None:
        """Wake the pool's threads without a unit of their own (they split a span in flight)."""
        self._pool.fill()

    def window(self) -> int:
        """How many transfers the small-file loop may keep in flight: the budget less the
        units queued or running besides it."""
        size = self._pool.size
        return max(1, size - (min(size, self._pending) - 1))

    def start(self, job: FileJob) -> None:
        """Queue a job: a check of the local file, or a fetch (ranged or whole)."""
        if job.check_first:
            self.submit(self._check_unit, job, job.epoch)
        elif job.ranged(self.options.range_threshold):
            try:
                self._start_ranged(job)
            except OSError as exc:  # lease, journal or temp could not be written
                self.fail(job, f"writing under {job.final.parent}: {in_words(exc)}")
        elif job.remote.size >= SPLITTABLE and job.remote.splittable:
            self.submit(self._stream_unit, job, job.epoch)
        else:
            self.submit(self._whole_unit, job, job.epoch)

    def past_deadline(self) -> bool:
        if self.stop.is_set():
            return True
        deadline = self.options.deadline
        return deadline is not None and self.options.clock() >= deadline

    # -- ranged files -------------------------------------------------------------------

    def _start_ranged(self, job: FileJob) -> None:
        options = self.options
        job.final.parent.mkdir(parents=True, exist_ok=True)
        if options.lock and not job.leased:
            if not lease.acquire(job.final, self.owner, stale_after=options.stale_after):
                job.outcome = Outcome.WAITING
                self.waiting.append(job)
                return
            job.leased = True
        journal = adopt_or_create(
            job.final, job.remote.key, job.remote.size,
            chunk_size_for(job.remote.size, options.chunk_size, options.connections), self.owner,
            stale_after=options.stale_after,
        )  # fmt: skip
        job.journal = journal
        job.chunks = split_chunks(job.remote.size, journal.chunk_size)
        expected = job.remote.expected
        job.hasher = (
            PrefixHasher(expected, journal.temp, job.chunks) if expected.needs_readback() else None
        )
        if not journal.done:
            with journal.temp.open("wb") as handle:
                handle.truncate(job.remote.size)
            journal.save()
        resumed = sum(
            job.chunks[i][1] - job.chunks[i][0] for i in journal.done if i < len(job.chunks)
        )
        job.resumed_bytes += resumed
        if resumed:
            self.tracker.resume(resumed)
        with self._active_lock:
            self.active.add(job)
        missing = [i for i in range(len(job.chunks)) if i not in journal.done]
        if not missing:
            self.submit(self._finalize_ranged, job, job.epoch)
        for index in missing:
            self.submit(self._chunk_unit, job, job.epoch, index)

    def _chunk_unit(self, job: FileJob, epoch: int, index: int) -> None:
        with job.lock:
            journal = job.journal
            if not job.active(epoch) or journal is None:
                return  # restarted or stopped since this unit was queued
            start, end = job.chunks[index]
        span = Span(start, end, crc32c=bool(job.remote.expected.crc32c), now=self.options.clock())
        done = partial(self._chunk_ended, job, epoch, journal, index)
        self.spans.fetch(Fetching(job, epoch, span, journal.temp, done))

    def _chunk_ended(
        self, job: FileJob, epoch: int, journal: Journal, index: int, span: Span, ok: bool
    ) -> None:
        with job.lock:
            kept = ok and job.active(epoch) and job.journal is journal
            if kept:
                journal.done[index] = span.crc32c()
                journal.save()
                complete = len(journal.done) == len(job.chunks)
                hasher = job.hasher
        if not kept:
            self.tracker.add(-span.written())  # not kept: failed, stopped, or a dropped version
            return
        job.bytes_fetched += span.end - span.start
        if complete:
            self._finalize_ranged(job, epoch)
        elif hasher is not None:
            # Overlap sha256/md5 with the ranges still coming; a failure here (the temp was
            # replaced by a restart) is harmless: the final pass reads what is missing.
            with contextlib.suppress(OSError):
                hasher.advance(journal.done)

    def _finalize_ranged(self, job: FileJob, epoch: int) -> None:
        journal = job.journal
        if journal is None or not job.active(epoch):
            return
        expected = job.remote.expected
        digests: dict[str, str] = {}
        if expected.crc32c:
            crcs = [(journal.done[i], end - start) for i, (start, end) in enumerate(job.chunks)]
            digests["crc32c"] = f"{combine_chunks(crcs):08x}"
        try:
            if job.hasher is not None:
                digests.update(job.hasher.digests(journal.done))
            size = journal.temp.stat().st_size
        except OSError as exc:
            if job.active(epoch):
                self.fail(job, f"reading back {journal.temp.name}: {in_words(exc)}")
            return
        wrong = expected.mismatches(digests) + (["size"] if size != expected.size else [])
        if wrong:
            self._verify_failed(job, epoch, wrong)
            return
        self._place(job, journal.temp)
        journal.remove()
        self.finish(job)

    def _verify_failed(self, job: FileJob, epoch: int, wrong: list[str]) -> None:
        job.verify_failures += 1
        if job.verify_failures >= self.options.verify_attempts:
            self._discard(job)
            job.set_outcome(
                Outcome.FAILED,
                f"{', '.join(wrong)} mismatch after {job.verify_failures} downloads",
            )
            return
        self._restart(job, epoch, refresh=False)

    # -- whole files --------------------------------------------------------------------

    def _whole_unit(self, job: FileJob, epoch: int) -> None:
        if not job.active(epoch):
            return
        temp = temp_name(job.final, self.owner.tag())
        placed: os.stat_result | None = None
        try:
            if self.attempts(job, epoch, lambda: self.streamer.whole(job, temp)) is None:
                return
            placed = self._place_whole(job, temp)
        finally:
            if placed is None:
                with contextlib.suppress(FileNotFoundError):
                    temp.unlink()
        self.finish(job, placed)

    def _stream_unit(self, job: FileJob, epoch: int) -> None:
        if not job.active(epoch):
            return
        expected = job.remote.expected
        try:
            whole = WholeFile.create(
                temp_name(job.final, self.owner.tag()), job.remote.size,
                crc32c=bool(expected.crc32c), hashers=expected.streaming_hashers(),
                now=self.options.clock(),
            )  # fmt: skip
        except OSError as exc:
            self.fail(job, f"writing under {job.final.parent}: {in_words(exc)}")
            return
        done = partial(self._whole_ended, job, epoch, whole)
        self.spans.fetch(Fetching(job, epoch, whole, whole.temp, done))

    def _whole_ended(self, job: FileJob, epoch: int, whole: WholeFile, _: Span, ok: bool) -> None:
        """Verify and place the file, or drop its temp."""
        job.bytes_fetched += whole.written()
        placed: os.stat_result | None = None
        try:
            if ok and job.active(epoch):
                placed = self._verify_whole(job, epoch, whole)
        finally:
            if placed is None:
                self.tracker.add(-whole.written())
                with contextlib.suppress(FileNotFoundError):
                    whole.temp.unlink()
        if placed is not None:
            self.finish(job, placed)

    def _verify_whole(self, job: FileJob, epoch: int, whole: WholeFile) -> os.stat_result | None:
        expected = job.remote.expected
        try:
            digests = whole.digests()
            size = whole.temp.stat().st_size
        except OSError as exc:
            self.fail(job, f"reading back {whole.temp.name}: {in_words(exc)}")
            return None
        wrong = expected.mismatches(digests) + (["size"] if size != expected.size else [])
        if wrong:
            self._verify_failed(job, epoch, wrong)
            return None
        return self._place_whole(job, whole.temp)

    # -- checks of present files --------------------------------------------------------

    def _check_unit(self, job: FileJob, epoch: int) -> None:
        expected = job.remote.expected
        try:
            digests = readback_digests(job.final, expected, crc32c=True)
        except OSError:
            digests = {}
        if digests and not expected.mismatches(digests):
            self.adopt(job)
            return
        job.check_first = False
        self.start(job)

    def adopt(self, job: FileJob) -> None:
        """Take the file in place as this job's result (it matched its checksums, or another
        worker placed and recorded it): recorded, counted, done, with no byte fetched."""
        job.check_first = True  # reported as checked, not fetched
        self._record(job, record_for(job.final, job.remote.key))
        self.tracker.add(job.remote.size)
        job.set_outcome(Outcome.DONE)
        self.tracker.file_done(job.remote.path)

    # -- shared steps -------------------------------------------------------------------

    def attempts(self, job: FileJob, epoch: int, fn: Callable[[], int]) -> int | None:
        """Run `fn` with retries; None when the job stopped (failed, deferred, restarted)."""
        policy = self.options.retry
        for attempt in range(1, policy.attempts + 1):
            if not job.active(epoch):
                return None
            if self.past_deadline():
                self.defer(job)
                return None
            try:
                return fn()
            except SourceChanged:
                self._restart(job, epoch, refresh=True)
                return None
            except DeadlineReached:
                self.defer(job)
                return None
            except Superseded:
                return None
            except ChecksumMismatch as exc:
                job.verify_failures += 1
                if job.verify_failures >= self.options.verify_attempts:
                    self.fail(job, f"{exc} after {job.verify_failures} downloads")
                    return None
            except RetryableFetchError as exc:
                if attempt == policy.attempts:
                    self.fail(job, f"{exc} (after {attempt} attempts)")
                    return None
                self.options.pause(policy.backoff(attempt, _RNG), exc.retry_after)
            except FetchError as exc:
                self.fail(job, str(exc))
                return None
            except OSError as exc:
                if job.active(epoch):  # otherwise a restart removed the temp under us
                    self.fail(job, f"writing under {job.final.parent}: {in_words(exc)}")
                return None
        return None

    def _restart(self, job: FileJob, epoch: int, *, refresh: bool) -> None:
        with job.lock:
            if not job.active(epoch):
                return
            job.epoch += 1
            job.restarts += 1
            if job.journal is not None:
                done = job.journal.done
                self.tracker.add(-sum(e - s for i, (s, e) in enumerate(job.chunks) if i in done))
                job.journal.remove()
                job.journal = None
        if job.restarts > self.options.restart_limit + self.options.verify_attempts:
            self.fail(job, f"restarted {job.restarts} times; the source keeps changing")
            return
        if refresh:
            try:
                fresh = job.source.refresh(self.fetcher, job.remote)
            except Exception as exc:
                self.fail(job, f"could not re-read the changed source: {exc}")
                return
            if fresh is None:
                self.fail(job, "the object disappeared from the source during the sync")
                return
            self.tracker.resize(fresh.size - job.remote.size)
            job.remote = fresh
        self.start(job)

    def defer(self, job: FileJob) -> None:
        if job.set_outcome(Outcome.DEFERRED, "stopped before the deadline; verified chunks kept"):
            self._release(job)  # the journal stays for the next run; the lease need not

    def fail(self, job: FileJob, message: str) -> None:
        job.set_outcome(Outcome.FAILED, message)
        self._discard(job)

    def _discard(self, job: FileJob) -> None:
        if job.journal is not None:
            job.journal.remove()
        self._release(job)

    def _release(self, job: FileJob) -> None:
        if job.leased:
            lease.release(job.final, self.owner)
            job.leased = False
        if job.chunks:  # only ranged jobs ever join `active`; whole files skip the lock
            with self._active_lock:
                self.active.discard(job)

    def _place_whole(self, job: FileJob, temp: Path) -> os.stat_result:
        """Rename a verified whole file into place; its stat (a rename keeps size and
        mtime) is what the state file records."""
        placed = temp.stat()
        temp.replace(job.final)
        return placed

    def _place(self, job: FileJob, temp: Path) -> None:
        # Large files are flushed one by one; small ones by one sync() before the state is saved.
        if self.options.fsync and job.ranged(self.options.range_threshold):
            fd = os.open(temp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        temp.replace(job.final)

    def finish(self, job: FileJob, placed: os.stat_result | None = None) -> None:
        if not job.set_outcome(Outcome.DONE):
            return
        if placed is None:
            self._record(job, record_for(job.final, job.remote.key))
        else:
            self._record(job, Recorded(job.remote.key, placed.st_size, placed.st_mtime_ns))
        self._release(job)
        self.tracker.file_done(job.remote.path)

    def heartbeat(self) -> None:
        """Refresh the mtimes of our journals and leases so other hosts see us alive."""
        with self._active_lock:
            jobs = list(self.active)
        for job in jobs:
            if job.journal is not None:
                job.journal.touch()
            if job.leased:
                lease.touch(job.final)
