"""Read-back verification on real files: one pass computes every checksum a file is held
to, and the pipelined prefix hasher hashes ranges in file order as they finish."""

from __future__ import annotations

import hashlib
import random
import threading
from pathlib import Path

import google_crc32c
import pytest

from podkit.worker.transfer import verify
from podkit.worker.transfer.verify import Expected, PrefixHasher, readback_digests

RND = random.Random(22)


def _etag(data: bytes, part: int) -> str:
    parts = [data[i : i + part] for i in range(0, len(data), part)]
    whole = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f"{whole}-{len(parts)}"


def test_readback_computes_what_is_expected_and_crc32c_only_when_asked(tmp_path: Path) -> None:
    data = RND.randbytes(3 * 1024 + 5)
    path = tmp_path / "f"
    path.write_bytes(data)
    expected = Expected(
        size=len(data),
        crc32c=f"{google_crc32c.value(data):08x}",
        md5=hashlib.md5(data).hexdigest(),
        s3_multipart_etag=_etag(data, 1024),
        s3_part_size=1024,
    )
    without = readback_digests(path, expected)
    assert set(without) == {"md5", "s3_multipart_etag"}
    assert expected.mismatches(without) == []
    blocks: list[int] = []
    both = readback_digests(path, expected, crc32c=True, on_block=blocks.append)
    assert both["crc32c"] == expected.crc32c
    assert expected.mismatches(both) == []
    assert sum(blocks) == len(data)
    assert "crc32c" not in readback_digests(path, Expected(size=len(data)), crc32c=True)


def test_readback_reads_in_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify, "READBACK_BLOCK", 1000)
    path = tmp_path / "f"
    data = RND.randbytes(2500)
    path.write_bytes(data)
    blocks: list[int] = []
    digests = readback_digests(path, Expected(size=2500, sha256="x"), on_block=blocks.append)
    assert blocks == [1000, 1000, 500]
    assert digests == {"sha256": hashlib.sha256(data).hexdigest()}


def _prefix_case(
    tmp_path: Path, size: int, chunk: int
) -> tuple[bytes, Path, list[tuple[int, int]]]:
    data = RND.randbytes(size)
    temp = tmp_path / "t.incomplete"
    temp.write_bytes(data)
    chunks = [(s, min(s + chunk, size)) for s in range(0, size, chunk)]
    return data, temp, chunks


def test_prefix_hasher_hashes_only_the_contiguous_front(tmp_path: Path) -> None:
    data, temp, chunks = _prefix_case(tmp_path, 10_000, 1000)
    expected = Expected(size=len(data), md5="x", s3_multipart_etag="x-4", s3_part_size=3000)
    hasher = PrefixHasher(expected, temp, chunks)
    hasher.advance({1: 0, 2: 0})  # chunk 0 missing: nothing can be hashed yet
    assert hasher._next == 0
    hasher.advance({0: 0, 1: 0, 2: 0, 5: 0})
    assert hasher._next == 3
    digests = hasher.digests(dict.fromkeys(range(len(chunks)), 0))
    assert digests == {"md5": hashlib.md5(data).hexdigest(), "s3_multipart_etag": _etag(data, 3000)}


def test_prefix_hasher_reads_long_ranges_in_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify, "READBACK_BLOCK", 300)
    data, temp, chunks = _prefix_case(tmp_path, 2000, 1000)
    hasher = PrefixHasher(Expected(size=2000, sha256="x"), temp, chunks)
    assert hasher.digests({0: 0, 1: 0}) == {"sha256": hashlib.sha256(data).hexdigest()}


def test_prefix_hasher_refuses_a_temp_shorter_than_its_ranges(tmp_path: Path) -> None:
    _, temp, chunks = _prefix_case(tmp_path, 2000, 1000)
    temp.write_bytes(b"x" * 1500)
    hasher = PrefixHasher(Expected(size=2000, sha256="x"), temp, chunks)
    with pytest.raises(OSError, match="shorter than expected"):
        hasher.digests({0: 0, 1: 0})


def test_prefix_hasher_skips_while_another_thread_hashes_unless_told_to_wait(
    tmp_path: Path,
) -> None:
    data, temp, chunks = _prefix_case(tmp_path, 2000, 1000)
    hasher = PrefixHasher(Expected(size=2000, sha256="x"), temp, chunks)
    hasher._lock.acquire()
    hasher.advance({0: 0, 1: 0})  # busy: returns at once, without hashing
    assert hasher._next == 0
    waiter = threading.Thread(target=hasher.advance, args=({0: 0, 1: 0},), kwargs={"wait": True})
    waiter.start()
    hasher._lock.release()
    waiter.join(timeout=30)
    assert hasher._next == 2
    assert hasher.digests({0: 0, 1: 0}) == {"sha256": hashlib.sha256(data).hexdigest()}


class _SignallingLock:
    """A lock that says when someone starts to acquire it (a sync point, not a timing)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.asked = threading.Event()

    def acquire(self, blocking: bool = True) -> bool:
        if self._lock.locked():
            self.asked.set()
        return self._lock.acquire(blocking)

    def release(self) -> None:
        self._lock.release()


def test_digests_wait_for_a_pass_in_progress_and_then_finish_it(tmp_path: Path) -> None:
    data, temp, chunks = _prefix_case(tmp_path, 3000, 1000)
    hasher = PrefixHasher(Expected(size=3000, sha256="x"), temp, chunks)
    lock = _SignallingLock()
    hasher._lock = lock  # type: ignore[assignment]
    lock.acquire()  # another thread's pass is running
    result: list[dict[str, str]] = []
    finisher = threading.Thread(target=lambda: result.append(hasher.digests({0: 0, 1: 0, 2: 0})))
    finisher.start()
    assert lock.asked.wait(timeout=30)
    lock.release()
    finisher.join(timeout=30)
    assert result == [{"sha256": hashlib.sha256(data).hexdigest()}]
