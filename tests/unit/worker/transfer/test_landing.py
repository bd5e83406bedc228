"""Landing the small-file loop's bodies: each lands verified under its final name, or goes
back to the one-file path; nothing half-written is ever left under a final name, nor any
temp, whatever fails on the way."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from podkit.config.models import parse_source
from podkit.worker.transfer.https import HttpsSource
from podkit.worker.transfer.jobs import FileJob, Outcome, SyncOptions
from podkit.worker.transfer.landing import land_guarded
from podkit.worker.transfer.owner import Owner
from podkit.worker.transfer.progress import Tracker
from podkit.worker.transfer.remote import RemoteFile
from podkit.worker.transfer.verify import Expected

URL = "https://example.test/m/file.bin"


class Books:
    """The runner's side of landing, recorded: what went back, failed or finished."""

    def __init__(self, *, verify_attempts: int = 3, broken: str = "") -> None:
        self.options = SyncOptions(verify_attempts=verify_attempts)
        self.tracker = Tracker(None)
        self.owner = Owner.me("landing-test")
        self.started: list[str] = []
        self.failed: dict[str, str] = {}
        self.finished: dict[str, os.stat_result | None] = {}
        self._broken = broken  # a path whose booking raises, as a bug would

    def start(self, job: FileJob) -> None:
        self.started.append(job.remote.path)

    def fail(self, job: FileJob, message: str) -> None:
        job.set_outcome(Outcome.FAILED, message)
        self.failed[job.remote.path] = message

    def finish(self, job: FileJob, placed: os.stat_result | None = None) -> None:
        if job.remote.path == self._broken:
            raise RuntimeError("booking failed")
        job.set_outcome(Outcome.DONE)
        self.finished[job.remote.path] = placed


def _job(root: Path, path: str, data: bytes) -> FileJob:
    expected = Expected(len(data), sha256=hashlib.sha256(data).hexdigest())
    remote = RemoteFile(path, f"{URL}/{path}", len(data), "v1", expected)
    source = HttpsSource(parse_source(URL), {}, None)
    return FileJob(0, source, remote, str(root))


Body = tuple[FileJob, bytes]


def _land(books: Books, bodies: list[Body], epoch: int = 0) -> None:
    for job, data in bodies:
        land_guarded(books, job, epoch, f"{URL}/{job.remote.path}", data)


def _names(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_verified_bodies_land_under_their_final_names_with_the_stat_recorded(
    tmp_path: Path,
) -> None:
    books = Books()
    datas = {f"f{i}.bin": os.urandom(1000 + i) for i in range(20)}
    jobs = {name: _job(tmp_path, name, data) for name, data in datas.items()}
    _land(books, [(jobs[name], data) for name, data in datas.items()])
    assert {name: (tmp_path / name).read_bytes() for name in datas} == datas
    assert _names(tmp_path) == sorted(datas)  # no temp left
    for name, placed in books.finished.items():
        assert placed is not None
        assert placed.st_size == (tmp_path / name).stat().st_size
        assert placed.st_mtime_ns == (tmp_path / name).stat().st_mtime_ns
    assert books.tracker.bytes_done == sum(len(data) for data in datas.values())


def test_a_body_that_fails_its_checksum_goes_back_to_the_one_file_path_then_fails(
    tmp_path: Path,
) -> None:
    books = Books(verify_attempts=2)
    good = os.urandom(500)
    job = _job(tmp_path, "m.bin", good)
    flipped = bytes([good[0] ^ 1]) + good[1:]
    _land(books, [(job, flipped)])
    assert books.started == ["m.bin"] and not books.failed
    _land(books, [(job, flipped)])
    assert "sha256 mismatch after 2 downloads" in books.failed["m.bin"]
    assert _names(tmp_path) == []  # nothing of a body that does not verify is ever written


def test_a_write_that_fails_goes_back_to_the_one_file_path_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    books = Books()
    data = os.urandom(700)
    gone = _job(tmp_path, "missing/dir/a.bin", data)  # its folder is not there
    (tmp_path / "b.bin").mkdir()  # a folder where the file goes: the rename fails
    taken = _job(tmp_path, "b.bin", data)
    fine = _job(tmp_path, "c.bin", data)
    _land(books, [(gone, data), (taken, data), (fine, data)])
    assert books.started == ["missing/dir/a.bin", "b.bin"]
    assert gone.outcome == taken.outcome == Outcome.RUNNING  # the one-file path decides
    assert list(books.finished) == ["c.bin"]
    assert _names(tmp_path) == ["b.bin", "c.bin"]  # the written temp was removed
    assert (tmp_path / "b.bin").is_dir()


def test_a_bug_while_booking_fails_that_file_and_the_others_land(
    tmp_path: Path,
) -> None:
    books = Books(broken="f3.bin")
    datas = {f"f{i}.bin": os.urandom(300) for i in range(6)}
    jobs = {name: _job(tmp_path, name, data) for name, data in datas.items()}
    _land(books, [(jobs[name], data) for name, data in datas.items()])
    assert jobs["f3.bin"].outcome == Outcome.FAILED
    assert jobs["f3.bin"].error == "internal error: RuntimeError: booking failed"
    assert sorted(books.finished) == sorted(set(datas) - {"f3.bin"})
    # The bug came after the rename: the file under its final name is whole and verified.
    assert {name: (tmp_path / name).read_bytes() for name in datas} == datas


@pytest.mark.parametrize("stop", ["restarted", "deferred"])
def test_a_body_of_a_job_stopped_meanwhile_is_dropped_unwritten(tmp_path: Path, stop: str) -> None:
    books = Books()
    data = os.urandom(400)
    job = _job(tmp_path, "s.bin", data)
    if stop == "restarted":
        job.epoch += 1  # the body is of the attempt before
    else:
        job.set_outcome(Outcome.DEFERRED, "stopped before the deadline")
    _land(books, [(job, data)])
    assert not books.started and not books.finished and not books.failed
    assert _names(tmp_path) == []
