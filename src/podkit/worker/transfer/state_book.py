"""The sync's book of verified files: recorded per entry as the pool's threads finish them,
written to the state files (`state.py`) in batches, at most every few seconds and at the end,
so no thread waits on a state-file write to record a file.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from podkit.errors import TransferError
from podkit.worker.transfer.jobs import FileJob
from podkit.worker.transfer.owner import Owner
from podkit.worker.transfer.state import Recorded, Written, save_state, state_path


class StateBook:
    """Collects verified files per entry and flushes them to the state files, at most every
    `interval` seconds and at the end."""

    def __init__(
        self, dests: list[Path], labels: list[str], owner: Owner, interval: float = 2.0
    ) -> None:
        self._dests, self._labels, self._owner = dests, labels, owner
        self._pending: list[dict[str, Recorded]] = [{} for _ in dests]
        self._written: list[Written | None] = [None for _ in dests]  # under _write_lock
        self._lock = threading.Lock()  # guards _pending and _last
        self._write_lock = threading.Lock()  # one writer of the state files at a time
        self._last = time.monotonic()
        self._interval = interval

    def destination(self, job: FileJob) -> Path:
        return self._dests[job.entry]

    def record(self, job: FileJob, record: Recorded) -> None:
        """Book a verified file. One under a lease is written at once: another worker waiting
        for that lease reads the state file when it is given back."""
        with self._lock:
            self._pending[job.entry][job.remote.path] = record
            due = job.leased or time.monotonic() - self._last >= self._interval
            if due:
                self._last = time.monotonic()  # other threads keep recording meanwhile
        if due:
            self.flush(final=False)

    def flush(self, *, final: bool = True) -> None:
        """Write what was recorded. A state file that cannot be written keeps its batch for
        the next flush; the final one raises TransferError (the files are in place, but a
        later sync would have to hash them again to know it)."""
        # The batch is swapped under the short lock and written under the write lock, so
        # the pool's threads never wait on a state-file write to record a finished file.
        failed: list[str] = []
        with self._write_lock:
            with self._lock:
                batches, self._pending = self._pending, [{} for _ in self._dests]
                self._last = time.monotonic()
            for index, batch in enumerate(batches):
                try:
                    self._written[index] = save_state(
                        self._dests[index], self._labels[index], batch, self._owner.tag(),
                        self._written[index],
                    )  # fmt: skip
                except OSError as exc:
                    with self._lock:
                        self._pending[index] = batch | self._pending[index]
                    failed.append(f"{state_path(self._dests[index])}: {exc.strerror or exc}")
        if failed and final:
            raise TransferError(
                f"cannot write the sync state {'; '.join(failed)}",
                hint="the files are in place; make the state file writable (a regular file "
                "the worker may replace), then run the sync again to record them",
            )
