"""`sync_models`: list every source, plan against the volume, preflight, run the pool, report.

Stages: list (metadata requests only) -> plan (pure, against the state file and a stat of
each destination path) -> preflight (path safety, disk space) -> transfer (one bounded pool
for all entries) -> wait for files another worker holds -> record state -> report.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from podkit.config.models import ModelSource, SourceKind
from podkit.errors import TransferError
from podkit.worker.transfer import lease
from podkit.worker.transfer._fetch import Fetcher
from podkit.worker.transfer.gcs import GcsSource
from podkit.worker.transfer.hf import HfSource
from podkit.worker.transfer.https import HttpsSource
from podkit.worker.transfer.jobs import FileJob, Outcome, SyncOptions, in_words
from podkit.worker.transfer.journal import reclaimable, sweep_orphans
from podkit.worker.transfer.overlap import refuse_overlaps
from podkit.worker.transfer.owner import ACTIVE_RUNS, Owner
from podkit.worker.transfer.plan import Action, LocalStat, Plan, decide, make_plan
from podkit.worker.transfer.progress import ProgressCallback, Tracker
from podkit.worker.transfer.remote import Source, listed, select
from podkit.worker.transfer.runner import Runner
from podkit.worker.transfer.s3 import S3Source
from podkit.worker.transfer.state import Recorded, load_state
from podkit.worker.transfer.state_book import StateBook

PARTIAL_HINT = (
    "re-run the sync (verified chunks are kept) or raise the endpoint's execution timeout"
)


@dataclass
class EntryReport:
    source: str
    destination: str
    files: int = 0
    fetched: int = 0
    skipped: int = 0
    checked: int = 0
    bytes_fetched: int = 0
    resumed_bytes: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    """The outcome: `ok`, `partial` (stopped by the deadline, resumable) or `failed`."""

    status: str
    entries: list[EntryReport]
    seconds: float
    data_requests: int
    meta_requests: int
    message: str
    connections: int  # the budget it ended with (an automatic one's last size)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def make_source(entry: ModelSource, env: Mapping[str, str]) -> Source:
    parsed = entry.parsed
    environment = dict(env)
    if parsed.kind is SourceKind.GCS:
        return GcsSource(parsed, environment)
    if parsed.kind is SourceKind.S3:
        return S3Source(parsed, environment)
    if parsed.kind is SourceKind.HF:
        return HfSource(parsed, environment)
    return HttpsSource(parsed, environment, entry.sha256)


def destination_dir(volume_dir: Path, entry: ModelSource) -> Path:
    """The entry's destination inside `volume_dir` (the local stand-in for /runpod-volume)."""
    root = volume_dir.resolve()
    target = (root / entry.relative_destination).resolve()
    if target != root and root not in target.parents:
        raise TransferError(
            f"{entry.label}: destination {entry.destination!r} resolves outside the volume",
            hint="remove the symlink on the volume or choose another destination",
        )
    return target


def plan_entry(
    entry: ModelSource, source: Source, dest: Path, fetcher: Fetcher
) -> tuple[Plan, dict[str, Recorded]]:
    """List the source, apply the globs, and compare with the state file and the files."""
    remote = select(listed(source, fetcher), entry.include, entry.exclude)
    recorded = load_state(dest)
    return make_plan(remote, recorded, local_stats(dest, [item.path for item in remote])), recorded


def local_stats(dest: Path, paths: list[str]) -> dict[str, LocalStat | None]:
    """Size and mtime of each path under `dest` (None where missing). A directory that is
    missing is looked at once, not once per file in it: a first sync stats no file."""
    local: dict[str, LocalStat | None] = {}
    missing: set[str] = set()  # directories (relative to dest) that are not there
    present: set[str] = set()
    for path in paths:
        directory = path.rpartition("/")[0]
        if directory not in present:
            if directory in missing or not (dest / directory).is_dir():
                missing.add(directory)
                local[path] = None
                continue
            present.add(directory)
        try:
            stat = (dest / path).stat()
            local[path] = (stat.st_size, stat.st_mtime_ns)
        except (FileNotFoundError, NotADirectoryError):
            local[path] = None
    return local


def preflight_space(dest: Path, needed: int, margin: int, label: str) -> None:
    """Fail before any download if the volume cannot hold what is missing."""
    probe = dest
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if needed + margin > free:
        raise TransferError(
            f"{label}: {_size(needed)} to download but only {_size(free)} free on {probe}",
            hint="free space, make the network volume larger, or narrow the include globs",
        )


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{count} B"
        value /= 1024
    return f"{value:.1f} TiB"


def sync_models(
    entries: list[ModelSource],
    volume_dir: Path,
    *,
    options: SyncOptions | None = None,
    progress: ProgressCallback | None = None,
    env: Mapping[str, str] | None = None,
) -> SyncReport:
    """Make `volume_dir` hold every entry's files, verified; see the module docstring."""
    options = options or SyncOptions()
    environment = dict(os.environ if env is None else env)
    started = time.monotonic()
    fetcher = Fetcher(
        options.connections,
        stall_timeout=options.stall_timeout,
        retry=options.retry,
        sleep=options.sleep,
        environ=environment,
        time_left=_time_left(options),
    )
    run_id = uuid.uuid4().hex
    ACTIVE_RUNS.add(run_id)
    try:
        return _sync(entries, volume_dir, options, progress, environment, fetcher, run_id, started)
    finally:
        ACTIVE_RUNS.discard(run_id)
        fetcher.close()


def _time_left(options: SyncOptions) -> Callable[[], float] | None:
    """Seconds until the sync's deadline, on its clock (None: no deadline)."""
    deadline, clock = options.deadline, options.clock
    return None if deadline is None else lambda: deadline - clock()


def plan_models(
    entries: list[ModelSource],
    volume_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    connections: int = 8,
) -> list[dict[str, object]]:
    """What a sync would do, per entry: files current, missing or stale, and bytes to fetch.

    Listing requests only; nothing is written. This feeds `podkit plan` and `--dry-run`.
    """
    environment = dict(os.environ if env is None else env)
    fetcher = Fetcher(connections, environ=environment)
    summary: list[dict[str, object]] = []
    try:
        dests = [destination_dir(volume_dir, entry) for entry in entries]
        sources = [make_source(entry, environment) for entry in entries]
        plans = _plan_all(entries, sources, dests, fetcher)
        for entry, plan in zip(entries, plans, strict=True):
            changes = [s for s in plan.steps if s.action is not Action.SKIP]
            summary.append(
                {
                    "source": entry.source,
                    "destination": entry.destination,
                    "files": len(plan.steps),
                    "current": len(plan.steps) - len(changes),
                    "to_fetch": [
                        {"path": s.remote.path, "reason": s.reason, "size": s.remote.size}
                        for s in changes
                    ],
                    "bytes_to_fetch": plan.bytes_to_fetch,
                }
            )
    finally:
        fetcher.close()
    return summary


def _sync(
    entries: list[ModelSource],
    volume_dir: Path,
    options: SyncOptions,
    progress: ProgressCallback | None,
    env: dict[str, str],
    fetcher: Fetcher,
    run_id: str,
    started: float,
) -> SyncReport:
    tracker = Tracker(progress, interval=options.progress_interval)
    tracker.emit(force=True)
    dests = [destination_dir(volume_dir, entry) for entry in entries]
    reports = [EntryReport(entry.source, entry.destination) for entry in entries]
    jobs = _collect(entries, dests, env, fetcher, reports)
    label = entries[0].label if len(entries) == 1 else f"{len(entries)} [[models]] entries"
    # By name first: one Path per directory, not one per file.
    named = {(job.entry, job.remote.path.rpartition("/")[0]) for job in jobs}
    root = volume_dir.resolve()
    directories = {dests[index] / below for index, below in named}
    for directory in directories:
        _inside(directory, root)
    # Dead workers' temps go before the space is counted: they are not space the sync needs.
    for directory in directories:
        sweep_orphans(directory, stale_after=options.stale_after)
    preflight_space(volume_dir, _needed(jobs, options), options.space_margin, label)
    for directory in directories:
        _create(directory)
    owner = Owner.me(run_id)
    book = StateBook(dests, [entry.source for entry in entries], owner)
    total = sum(job.remote.size for job in jobs)
    tracker.begin(total, len(jobs))
    connections = _run(jobs, split_policy(options, total), fetcher, tracker, owner, book)
    if options.fsync and jobs:
        os.sync()
    book.flush()
    tracker.finish()
    return _report(jobs, reports, fetcher, started, connections)


def _inside(directory: Path, root: Path) -> None:
    """Refuse a destination directory that a symlink on the volume leads outside `root`
    (nothing is written or removed there)."""
    inside = directory.resolve()
    if inside != root and root not in inside.parents:
        raise TransferError(
            f"{directory} resolves outside the volume (to {inside})",
            hint="remove the symlink on the volume, or exclude those files in [[models]]",
        )


def _create(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TransferError(
            f"cannot create {directory} on the volume: {in_words(exc)}",
            hint="check that the path is a directory the worker may write (not a file)",
        ) from None


def _needed(jobs: list[FileJob], options: SyncOptions) -> int:
    """Bytes the sync will write: every file to fetch, less what dead workers' chunk journals
    of those files already hold (resumed into, or deleted before the fetch). Only files
    above the range threshold can have a journal."""
    needed = 0
    for job in jobs:
        if job.check_first:
            continue
        size = job.remote.size
        if size > options.range_threshold:
            size -= min(size, reclaimable(job.final, stale_after=options.stale_after))
        needed += size
    return needed


def _collect(
    entries: list[ModelSource],
    dests: list[Path],
    env: dict[str, str],
    fetcher: Fetcher,
    reports: list[EntryReport],
) -> list[FileJob]:
    """Plan every entry; one job per file that is not already current."""
    sources = [make_source(entry, env) for entry in entries]
    plans = _plan_all(entries, sources, dests, fetcher)
    jobs: list[FileJob] = []
    for index, (source, plan) in enumerate(zip(sources, plans, strict=True)):
        reports[index].files = len(plan.steps)
        reports[index].skipped = len(plan.of(Action.SKIP))
        directory = str(dests[index])
        jobs += [
            FileJob(index, source, step.remote, directory, check_first=step.action is Action.CHECK)
            for step in plan.steps
            if step.action is not Action.SKIP
        ]
    return jobs


def _plan_all(
    entries: list[ModelSource], sources: list[Source], dests: list[Path], fetcher: Fetcher
) -> list[Plan]:
    """Plan every entry, refusing files that would land on each other across or within them."""
    plans = [
        plan_entry(entry, source, dest, fetcher)[0]
        for entry, source, dest in zip(entries, sources, dests, strict=True)
    ]
    refuse_overlaps(
        [
            (f"{entry.label} (destination {entry.destination!r})", dest, _paths(plan))
            for entry, dest, plan in zip(entries, dests, plans, strict=True)
        ]
    )
    return plans


def _paths(plan: Plan) -> Iterator[str]:
    return (step.remote.path for step in plan.steps)


SPLIT_CEILING = 256 * 1024 * 1024


def split_policy(options: SyncOptions, total: int) -> SyncOptions:
    """Split a file into ranges only when it is larger than its fair share of the budget.

    Many shards of similar size already keep every connection busy as whole streams, which
    also hash on the fly (sha256 cannot be combined across ranges: a split file is read back
    once); at the end, idle connections split the slowest streams (segments.py). The threshold
    never exceeds 256 MiB, so large files stay resumable by chunk.
    """
    fair = total // max(1, options.connections)
    threshold = max(options.range_threshold, min(fair, SPLIT_CEILING))
    return replace(options, range_threshold=threshold)


def _run(
    jobs: list[FileJob],
    options: SyncOptions,
    fetcher: Fetcher,
    tracker: Tracker,
    owner: Owner,
    book: StateBook,
) -> int:
    """Run every job; the connection budget it ended with."""
    runner = Runner(options, fetcher, tracker, owner, book.record)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(runner, stop), daemon=True)
    beat.start()
    try:
        # Large files first: their ranges keep every connection busy while small files fill in.
        runner.start_all(sorted(jobs, key=lambda j: -j.remote.size))
        runner.wait()
        while runner.waiting:
            waiting, runner.waiting = runner.waiting, []
            _await_leases(waiting, options)
            for job in waiting:
                if job.outcome == Outcome.WAITING:
                    job.outcome = Outcome.RUNNING
                    _after_wait(job, book.destination(job), runner)
            runner.wait()
    except BaseException:
        runner.stop.set()  # interrupted: running ranges stop, verified chunks stay journaled
        raise
    finally:
        stop.set()
        runner.close()
    return runner.connections


def _after_wait(job: FileJob, dest: Path, runner: Runner) -> None:
    """Go on with a file another worker held, as a sync starting now would: current when that
    worker recorded it (it flushes its state before giving the lease back), checked by
    checksum when present but not recorded, fetched otherwise."""
    path = job.remote.path
    step = decide(job.remote, load_state(dest).get(path), local_stats(dest, [path])[path])
    if step.action is Action.SKIP:
        runner.adopt(job)
        return
    job.check_first = step.action is Action.CHECK
    runner.start(job)


def _heartbeat(runner: Runner, stop: threading.Event) -> None:
    while not stop.wait(5.0):
        runner.heartbeat()


def _await_leases(jobs: list[FileJob], options: SyncOptions) -> None:
    """Wait until other workers release the files they hold (or go silent), or the deadline."""
    while True:
        held = [
            job
            for job in jobs
            if lease.held_by_live_owner(
                lease.lease_path(job.final), stale_after=options.stale_after
            )
        ]
        if not held:
            return
        if options.deadline is not None and options.clock() >= options.deadline:
            for job in held:
                job.outcome = Outcome.DEFERRED
                job.error = "another worker is still downloading it"
            return
        options.sleep(0.2)


def _report(
    jobs: list[FileJob],
    reports: list[EntryReport],
    fetcher: Fetcher,
    started: float,
    connections: int,
) -> SyncReport:
    for job in jobs:
        entry = reports[job.entry]
        entry.bytes_fetched += job.bytes_fetched
        entry.resumed_bytes += job.resumed_bytes
        if job.outcome == Outcome.DONE:
            if job.bytes_fetched or job.resumed_bytes or not job.check_first:
                entry.fetched += 1
            else:
                entry.checked += 1
        elif job.outcome == Outcome.FAILED:
            entry.failed[job.remote.path] = job.error
        else:
            entry.pending.append(job.remote.path)
    status, message = _summary(reports)
    return SyncReport(
        status,
        reports,
        round(time.monotonic() - started, 3),
        fetcher.data_requests,
        fetcher.meta_requests,
        message,
        connections,
    )


def _summary(reports: list[EntryReport]) -> tuple[str, str]:
    """The status and its one-line message."""
    failed = sum(len(r.failed) for r in reports)
    pending = sum(len(r.pending) for r in reports)
    if failed:
        status = "failed"
        first = next((f"{r.source}: {p}: {e}" for r in reports for p, e in r.failed.items()), "")
        message = f"{failed} file(s) failed; first: {first}"
    elif pending:
        status = "partial"
        message = f"partial: {pending} file(s) not finished; {PARTIAL_HINT}"
    else:
        status = "ok"
        total = sum(r.files for r in reports)
        fetched = sum(r.fetched for r in reports)
        message = f"{total} file(s) in place, {fetched} fetched"
    return status, message
