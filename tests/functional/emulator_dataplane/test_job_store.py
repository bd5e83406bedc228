"""The job database on a real file: what a reopened store reads back, in process.

A second `JobStore` opened on the file while the first is still open stands for the emulator
coming back after a `kill -9`: it sees exactly what was committed, nothing that was not.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from podkit.emulator.dataplane import DataPlaneSettings, EndpointRuntime, JobsBackend, JobStatus
from podkit.emulator.dataplane.core import JobsError
from podkit.emulator.dataplane.jobs import MISSING, Job, JobPolicy
from podkit.emulator.dataplane.store import HINT, JobStore, StoreWriteError
from podkit.errors import EmulatorError

POLICY = JobPolicy(execution_timeout_ms=600_000, ttl_ms=86_400_000)


def _job(job_id: str, **fields: Any) -> Job:
    fields.setdefault("policy", POLICY)
    return Job(id=job_id, endpoint_id="ep", input={"n": job_id}, **fields)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "jobs" / "jobs.db"  # neither folder exists yet


def test_every_field_of_a_job_reads_back_as_written(db: Path) -> None:
    busy = _job(
        "busy",
        policy=JobPolicy(execution_timeout_ms=7_000, ttl_ms=12_000, low_priority=True),
        submitted_at=10.0,
        sync=True,
        webhook="http://127.0.0.1:9/hook",
        s3_config={"bucketName": "b"},
        status=JobStatus.FAILED,
        worker_id="w1",
        started_at=11.5,
        finished_at=13.25,
        output={"partial": [1, 2]},
        error="no such model",
        stream=["a", {"b": 2}],
        stream_read=1,
        retries=2,
        crash_requeues=1,
    )
    fresh = _job("fresh", submitted_at=20.0)
    JobStore(db).write([busy, fresh], [], {}, 0.0)

    assert JobStore(db).read(0.0).jobs == [busy, fresh]
    assert JobStore(db).read(0.0).jobs[1].output is MISSING  # never stored as null


def test_times_are_epoch_seconds_so_they_keep_counting_across_a_restart(db: Path) -> None:
    job = _job("j", submitted_at=10.0, started_at=12.0, finished_at=15.0)
    JobStore(db).write([job], [], {}, offset=1000.0)  # the clock read 10.0 at epoch 1010

    (back,) = JobStore(db).read(offset=4000.0).jobs  # after a restart, epoch 1010 is -2990
    assert (back.submitted_at, back.started_at, back.finished_at) == (-2990.0, -2988.0, -2985.0)


def test_a_store_still_open_leaves_every_committed_write_readable(db: Path) -> None:
    first = JobStore(db)
    first.write([_job("a", submitted_at=1.0)], [], {"ep": (1, 0, 0)}, 0.0)
    first.write([_job("b", submitted_at=2.0)], [], {"ep": (2, 0, 0)}, 0.0)

    second = JobStore(db)  # `first` was never closed, as after a kill -9
    stored = second.read(0.0)
    assert [j.id for j in stored.jobs] == ["a", "b"]
    assert stored.counters == {"ep": (2, 0, 0)}
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_jobs_read_back_in_the_order_they_were_first_written(db: Path) -> None:
    store = JobStore(db)
    late, early = _job("z-late", submitted_at=1.0), _job("a-early", submitted_at=2.0)
    store.write([late], [], {}, 0.0)
    store.write([early], [], {}, 0.0)
    late.status = JobStatus.COMPLETED
    store.write([late], [], {}, 0.0)  # an update keeps its place

    assert [(j.id, j.status) for j in store.read(0.0).jobs] == [
        ("z-late", JobStatus.COMPLETED),
        ("a-early", JobStatus.IN_QUEUE),
    ]


def test_the_stream_grows_chunk_by_chunk_and_restarts_when_the_job_is_queued_again(
    db: Path,
) -> None:
    store = JobStore(db)
    job = _job("s", submitted_at=0.0, stream=["a"])

    def stream() -> list[Any]:
        return JobStore(db).read(0.0).jobs[0].stream

    store.write([job], [], {}, 0.0)
    job.stream += ["b", "c"]
    store.write([job], [], {}, 0.0)
    assert stream() == ["a", "b", "c"]
    job.stream[:] = ["d"]  # queued again, then one new chunk, before the next write
    store.write([job], [], {}, 0.0)
    assert stream() == ["d"]
    job.stream.clear()
    store.write([job], [], {}, 0.0)
    assert stream() == []


def test_a_forgotten_job_leaves_no_job_and_no_chunk_behind(db: Path) -> None:
    store = JobStore(db)
    store.write([_job("x", submitted_at=0.0, stream=["old-1", "old-2"])], [], {}, 0.0)
    store.write([], ["x"], {}, 0.0)
    assert store.read(0.0).jobs == []

    store.write([_job("x", submitted_at=0.0, stream=["new-1", "new-2"])], [], {}, 0.0)
    assert store.read(0.0).jobs[0].stream == ["new-1", "new-2"]


def test_counters_are_replaced_and_dropped_per_endpoint(db: Path) -> None:
    store = JobStore(db)
    store.write([], [], {"ep": (1, 2, 3), "other": (4, 5, 6)}, 0.0)
    store.write([], [], {"ep": (7, 8, 9), "other": None}, 0.0)

    assert JobStore(db).read(0.0).counters == {"ep": (7, 8, 9)}


def test_a_failed_write_commits_nothing_and_the_store_stays_usable(db: Path) -> None:
    store = JobStore(db)
    good = _job("good", submitted_at=0.0)
    unstorable = _job("bad", submitted_at=0.0, output=object())  # not JSON

    with pytest.raises(TypeError):
        store.write([good, unstorable], [], {"ep": (1, 0, 0)}, 0.0)
    assert JobStore(db).read(0.0).jobs == []
    assert JobStore(db).read(0.0).counters == {}

    store.write([good], [], {}, 0.0)
    assert [j.id for j in JobStore(db).read(0.0).jobs] == ["good"]


def test_clear_forgets_jobs_chunks_and_counters(db: Path) -> None:
    store = JobStore(db)
    store.write([_job("c", submitted_at=0.0, stream=["x"])], [], {"ep": (1, 1, 1)}, 0.0)
    store.clear()

    stored = JobStore(db).read(0.0)
    assert (stored.jobs, stored.counters) == ([], {})
    store.write([_job("c", submitted_at=0.0, stream=["y"])], [], {}, 0.0)
    assert JobStore(db).read(0.0).jobs[0].stream == ["y"]


def test_a_file_of_another_format_is_refused_with_a_hint(db: Path) -> None:
    JobStore(db).close()
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE meta SET value = '2' WHERE key = 'format'")

    with pytest.raises(EmulatorError) as refused:
        JobStore(db)
    assert refused.value.message == f"{db} holds jobs in format 2; this podkit reads format 1"
    assert refused.value.hint == HINT


def test_a_file_that_is_not_a_database_is_refused_with_a_hint(tmp_path: Path) -> None:
    db = tmp_path / "jobs.db"
    db.write_bytes(b"these are not the jobs you are looking for" * 100)

    with pytest.raises(EmulatorError) as refused:
        JobStore(db)
    assert refused.value.message.startswith(f"{db} is not a podkit job database (")
    assert refused.value.hint == HINT


def test_writers_on_many_threads_share_one_store(db: Path) -> None:
    store = JobStore(db)

    def write_many(thread: int) -> None:
        for n in range(20):
            job = _job(f"t{thread}-{n}", submitted_at=float(n), stream=[thread, n])
            store.write([job], [], {f"ep{thread}": (n, 0, 0)}, 0.0)

    threads = [threading.Thread(target=write_many, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stored = JobStore(db).read(0.0)
    assert sorted(j.id for j in stored.jobs) == sorted(
        f"t{t}-{n}" for t in range(4) for n in range(20)
    )
    assert all(j.stream == [int(j.id[1]), int(j.id.split("-")[1])] for j in stored.jobs)
    assert stored.counters == {f"ep{t}": (19, 0, 0) for t in range(4)}


# -- the backend over a file ---------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


SETTINGS = DataPlaneSettings(run_retention_s=1800, runsync_retention_s=60, crash_retries=1)


def _backend(store: JobStore, clock: Clock) -> JobsBackend:
    backend = JobsBackend(SETTINGS, clock=clock, seed=1, store=store, wall=lambda: 5e6 + clock())
    backend.upsert_endpoint(EndpointRuntime("ep", "acct", execution_timeout_ms=600_000))
    return backend


def test_a_restarted_backend_finds_each_job_where_the_last_answer_left_it(db: Path) -> None:
    clock = Clock()
    first = _backend(JobStore(db), clock)
    done, failed, cancelled = (first.submit("ep", {"input": n}).id for n in range(3))
    expiring = first.submit("ep", {"input": 3, "policy": {"ttl": 10_000}}).id
    running = first.submit("ep", {"input": 4}).id
    waiting = first.submit("ep", {"input": 5, "policy": {"lowPriority": True}}).id
    worker = first.register_worker("ep", "token").id
    first.take_jobs("ep", worker, 3, in_progress=False)  # done, failed, cancelled
    first.job_done("ep", worker, done, {"output": "ok"})
    first.job_done("ep", worker, failed, {"error": "boom"})
    first.retry("ep", failed)
    first.cancel("ep", cancelled)
    clock.now = 11.0  # the 10 s TTL of `expiring` is over
    first.tick()
    first.take_jobs("ep", worker, 2, in_progress=False)  # running, failed (retried)

    second = _backend(JobStore(db), Clock())  # the first store was never closed
    assert second.restore() == 5
    assert {
        job_id: (str(second.get("ep", job_id).status), second.get("ep", job_id).retries)
        for job_id in (done, failed, cancelled, running, waiting)
    } == {
        done: ("COMPLETED", 0),
        failed: ("IN_QUEUE", 2),  # retried once, then lost with the emulator while running
        cancelled: ("CANCELLED", 0),
        running: ("IN_QUEUE", 1),
        waiting: ("IN_QUEUE", 0),
    }
    with pytest.raises(JobsError):
        second.get("ep", expiring)
    assert second.status_body("ep", done)["output"] == "ok"
    assert second.health("ep")["jobs"]["completed"] == 1
    assert second.health("ep")["jobs"]["retried"] == 3


def test_a_job_lost_with_its_worker_runs_again_a_bounded_number_of_times(db: Path) -> None:
    backend = _backend(JobStore(db), Clock())  # crash_retries=1
    job_id = backend.submit("ep", {"input": "fragile"}).id

    def lose_its_worker() -> Job:
        worker = backend.register_worker("ep", f"token-{job_id}").id
        assert backend.take_jobs("ep", worker, 1, in_progress=False) != []
        backend.worker_exited(worker, 137)
        (stored,) = JobStore(db).read(0.0).jobs
        return stored

    once = lose_its_worker()
    assert (once.id, once.status, once.crash_requeues, once.retries) == (
        job_id, JobStatus.IN_QUEUE, 1, 1,
    )  # fmt: skip
    twice = lose_its_worker()
    assert (twice.status, twice.crash_requeues) == (JobStatus.FAILED, 1)
    assert twice.error is not None and "exited unexpectedly" in twice.error


def test_concurrent_takes_hand_each_stored_job_to_exactly_one_worker(db: Path) -> None:
    backend = _backend(JobStore(db), Clock())
    submitted = {backend.submit("ep", {"input": n}).id for n in range(40)}
    workers = [backend.register_worker("ep", f"token-{n}").id for n in range(4)]
    taken: dict[str, list[str]] = {worker: [] for worker in workers}

    def take_all(worker: str) -> None:
        while got := backend.take_jobs("ep", worker, 3, in_progress=True):
            taken[worker] += [job["id"] for job in got]

    threads = [threading.Thread(target=take_all, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    owner = {job_id: worker for worker, ids in taken.items() for job_id in ids}
    assert sorted(owner) == sorted(submitted)
    assert sum(len(ids) for ids in taken.values()) == len(submitted)  # nobody took one twice
    stored = JobStore(db).read(0.0).jobs
    assert {j.id: (j.status, j.worker_id) for j in stored} == {
        job_id: (JobStatus.IN_PROGRESS, worker) for job_id, worker in owner.items()
    }


def test_a_closed_store_refuses_further_changes(db: Path) -> None:
    store = JobStore(db)
    backend = _backend(store, Clock())
    kept = backend.submit("ep", {"input": "kept"}).id
    store.close()

    with pytest.raises(JobsError) as refused:
        backend.submit("ep", {"input": "late"})
    assert refused.value.status == 503
    assert [j.id for j in JobStore(db).read(0.0).jobs] == [kept]


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE jobs SET state = '{' WHERE id = 'b'",  # a torn row
        "UPDATE jobs SET state = '[]' WHERE id = 'b'",  # JSON of another shape
        "UPDATE jobs SET state = replace(state, 'IN_QUEUE', 'PARKED') WHERE id = 'b'",
        "ALTER TABLE jobs RENAME COLUMN input TO payload",  # a table of another version
    ],
)
def test_a_job_this_podkit_cannot_read_names_the_file_not_a_traceback(
    db: Path, damage: str
) -> None:
    JobStore(db).write([_job("a", submitted_at=0.0), _job("b", submitted_at=0.0)], [], {}, 0.0)
    with sqlite3.connect(db) as raw:
        raw.execute(damage)

    with pytest.raises(EmulatorError) as refused:
        JobStore(db).read(0.0)
    assert refused.value.message.startswith(f"{db} holds jobs this podkit cannot read (")
    assert refused.value.hint == HINT


def test_a_full_database_refuses_the_whole_write_and_takes_the_next_one(db: Path) -> None:
    store = JobStore(db)
    store.write([_job("small", submitted_at=0.0)], [], {}, 0.0)
    (pages,) = store._db.execute("PRAGMA page_count").fetchone()
    store._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full from here
    big = _job("big", submitted_at=0.0, output="x" * 100_000)

    with pytest.raises(StoreWriteError) as refused:
        store.write([big], ["small"], {"ep": (1, 0, 0)}, 0.0)
    assert refused.value.message.startswith(f"cannot save jobs to {db} (")
    assert "free space" in (refused.value.hint or "")
    assert [j.id for j in JobStore(db).read(0.0).jobs] == ["small"]

    store._db.execute("PRAGMA max_page_count = 1073741823")  # space again
    store.write([big], ["small"], {"ep": (1, 0, 0)}, 0.0)
    assert [j.id for j in JobStore(db).read(0.0).jobs] == ["big"]


def test_a_state_folder_that_is_a_file_names_it(tmp_path: Path) -> None:
    (tmp_path / "dataplane").write_text("")

    with pytest.raises(EmulatorError, match=r"dataplane: cannot create the directory"):
        JobStore(tmp_path / "dataplane" / "jobs.sqlite3")
