"""Jobs on disk: one SQLite database in WAL mode, committed before a change is acknowledged.

The backend keeps its jobs in memory and writes every job it changed, in one transaction, at
the end of each operation and before it answers anyone (an HTTP response, a waiting request,
a webhook). A `kill -9` of the emulator therefore loses no acknowledged change. WAL with
`synchronous=NORMAL` makes a commit survive a process crash; only a power loss may roll back
the last commits, as the platform's own queue is not something a laptop should fsync for.

Times are stored as epoch seconds, so TTL, retention and delay keep counting across a restart.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podkit.emulator.dataplane.jobs import MISSING, Job, JobPolicy, JobStatus
from podkit.errors import EmulatorError

HINT = "move the file away or pick another --state-dir"
WRITE_HINT = (
    "free space on that disk (or make the file writable); the change waits in memory and is "
    "saved with the next one"
)


class StoreWriteError(EmulatorError):
    """A commit failed (a full disk, a read-only file); nothing of it reached the database."""


FORMAT = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  endpoint_id TEXT NOT NULL,
  input TEXT NOT NULL,
  state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
  job_id TEXT NOT NULL, n INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (job_id, n)
);
CREATE TABLE IF NOT EXISTS counters (
  endpoint_id TEXT PRIMARY KEY, completed INTEGER, failed INTEGER, retried INTEGER
);
"""
# Every statement the store runs, next to the schema it relies on.
_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=5000")
_READ_FORMAT = "SELECT value FROM meta WHERE key = 'format'"
_WRITE_FORMAT = "INSERT INTO meta VALUES ('format', ?)"
_UPDATE_JOB = "UPDATE jobs SET state = ? WHERE id = ?"
_INSERT_JOB = "INSERT INTO jobs (id, endpoint_id, input, state) VALUES (?, ?, ?, ?)"
_DELETE_JOB = "DELETE FROM jobs WHERE id = ?"
_COUNT_CHUNKS = "SELECT count(*) FROM chunks WHERE job_id = ?"
_INSERT_CHUNK = "INSERT INTO chunks VALUES (?, ?, ?)"
_DELETE_CHUNKS = "DELETE FROM chunks WHERE job_id = ?"
_PUT_COUNTERS = "INSERT OR REPLACE INTO counters VALUES (?, ?, ?, ?)"
_DELETE_COUNTERS = "DELETE FROM counters WHERE endpoint_id = ?"
_READ_CHUNKS = "SELECT job_id, data FROM chunks ORDER BY n"
_READ_JOBS = "SELECT id, endpoint_id, input, state FROM jobs ORDER BY seq"
_READ_COUNTERS = "SELECT endpoint_id, completed, failed, retried FROM counters"
_CLEAR = "BEGIN; DELETE FROM jobs; DELETE FROM chunks; DELETE FROM counters; COMMIT;"


@dataclass(frozen=True)
class Stored:
    """Everything read back at start: jobs in submission order and per-endpoint counters."""

    jobs: list[Job]
    counters: dict[str, tuple[int, int, int]]


def _t(value: float | None, offset: float) -> float | None:
    return None if value is None else value + offset


def _state(job: Job, offset: float) -> str:
    data: dict[str, Any] = {
        "policy": [job.policy.execution_timeout_ms, job.policy.ttl_ms, job.policy.low_priority],
        "sync": job.sync,
        "webhook": job.webhook,
        "s3Config": job.s3_config,
        "status": str(job.status),
        "workerId": job.worker_id,
        "submitted": job.submitted_at + offset,
        "started": _t(job.started_at, offset),
        "finished": _t(job.finished_at, offset),
        "error": job.error,
        "streamRead": job.stream_read,
        "retries": job.retries,
        "crashRequeues": job.crash_requeues,
    }
    if job.output is not MISSING:
        data["output"] = job.output
    return json.dumps(data)


def _job(row: tuple[str, str, str, str], chunks: list[Any], offset: float) -> Job:
    job_id, endpoint_id, raw_input, raw_state = row
    data = json.loads(raw_state)
    timeout, ttl, low = data["policy"]
    return Job(
        id=job_id,
        endpoint_id=endpoint_id,
        input=json.loads(raw_input),
        policy=JobPolicy(int(timeout), int(ttl), bool(low)),
        submitted_at=data["submitted"] - offset,
        sync=bool(data["sync"]),
        webhook=data["webhook"],
        s3_config=data["s3Config"],
        status=JobStatus(data["status"]),
        worker_id=data["workerId"],
        started_at=_t(data["started"], -offset),
        finished_at=_t(data["finished"], -offset),
        output=data.get("output", MISSING),
        error=data["error"],
        stream=chunks,
        stream_read=int(data["streamRead"]),
        retries=int(data["retries"]),
        crash_requeues=int(data["crashRequeues"]),
    )


class JobStore:
    """The job database. `offset` turns the backend's clock into epoch seconds."""

    def __init__(self, path: Path | str) -> None:
        if isinstance(path, Path):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise EmulatorError(
                    f"{path.parent}: cannot create the directory ({exc.strerror or exc})",
                    hint="move what is there away or pick another --state-dir",
                ) from exc
        self.path = path
        self.closed = False
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            for pragma in _PRAGMAS:
                self._db.execute(pragma)
            self._db.executescript(_SCHEMA)
            self._check_format()
        except sqlite3.DatabaseError as exc:
            raise EmulatorError(f"{path} is not a podkit job database ({exc})", hint=HINT) from exc

    def _check_format(self) -> None:
        row = self._db.execute(_READ_FORMAT).fetchone()
        if row is None:
            self._db.execute(_WRITE_FORMAT, (FORMAT,))
        elif row[0] != FORMAT:
            raise EmulatorError(
                f"{self.path} holds jobs in format {row[0]}; this podkit reads format {FORMAT}",
                hint=HINT,
            )

    def write(
        self,
        jobs: Iterable[Job],
        gone: Iterable[str],
        counters: dict[str, tuple[int, int, int] | None],
        offset: float,
    ) -> None:
        """Commit changed jobs, forgotten job ids and endpoint counters in one transaction."""
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN")
                for job in jobs:
                    self._put(job, offset)
                for job_id in gone:
                    db.execute(_DELETE_JOB, (job_id,))
                    db.execute(_DELETE_CHUNKS, (job_id,))
                for endpoint_id, values in counters.items():
                    if values is None:
                        db.execute(_DELETE_COUNTERS, (endpoint_id,))
                    else:
                        db.execute(_PUT_COUNTERS, (endpoint_id, *values))
                db.execute("COMMIT")
            except BaseException as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreWriteError(
                        f"cannot save jobs to {self.path} ({exc})", hint=WRITE_HINT
                    ) from exc
                raise

    def _put(self, job: Job, offset: float) -> None:
        db = self._db
        state = _state(job, offset)
        if db.execute(_UPDATE_JOB, (state, job.id)).rowcount == 0:
            db.execute(_INSERT_JOB, (job.id, job.endpoint_id, json.dumps(job.input), state))
        (stored,) = db.execute(_COUNT_CHUNKS, (job.id,)).fetchone()
        if stored > len(job.stream):  # the job was queued again: its old chunks are gone
            db.execute(_DELETE_CHUNKS, (job.id,))
            stored = 0
        db.executemany(
            _INSERT_CHUNK,
            [(job.id, n, json.dumps(job.stream[n])) for n in range(stored, len(job.stream))],
        )

    def read(self, offset: float) -> Stored:
        """Every stored job (oldest first) and every endpoint's counters."""
        try:
            return self._read(offset)
        except (sqlite3.DatabaseError, ValueError, KeyError, TypeError) as exc:
            raise EmulatorError(
                f"{self.path} holds jobs this podkit cannot read ({type(exc).__name__}: {exc})",
                hint=HINT,
            ) from exc

    def _read(self, offset: float) -> Stored:
        with self._lock:
            chunks: dict[str, list[Any]] = {}
            for job_id, data in self._db.execute(_READ_CHUNKS):
                chunks.setdefault(job_id, []).append(json.loads(data))
            rows = self._db.execute(_READ_JOBS).fetchall()
            counters = {
                eid: (int(completed), int(failed), int(retried))
                for eid, completed, failed, retried in self._db.execute(_READ_COUNTERS)
            }
        jobs = [_job(row, chunks.get(row[0], []), offset) for row in rows]
        return Stored(jobs, counters)

    def clear(self) -> None:
        """Forget every job and counter."""
        with self._lock:
            self._db.executescript(_CLEAR)

    def close(self) -> None:
        """Close the database (its WAL is checkpointed)."""
        with self._lock:
            self.closed = True
            self._db.close()
