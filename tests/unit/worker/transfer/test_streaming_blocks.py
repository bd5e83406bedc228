"""How a byte range's blocks reach the temp file: the front a server sent before our range is
dropped, a claim cuts the tail, and pwritev writes any number of blocks at their offset."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from podkit.worker.transfer.streaming import _IOV_MAX, _drop_front, _first, _pwrite_all

BLOCKS = [b"abc", b"defgh", b"i", b"jklmnop"]


@pytest.mark.parametrize("skip", range(0, 19))
def test_dropping_the_front_keeps_exactly_the_bytes_after_it(skip: int) -> None:
    kept, left = _drop_front(list(BLOCKS), skip)
    whole = b"".join(BLOCKS)
    assert b"".join(kept) == whole[skip:]
    assert left == max(0, skip - len(whole))
    assert all(kept)  # no empty block is passed on


@pytest.mark.parametrize("size", range(0, 19))
def test_the_first_bytes_of_the_blocks_are_cut_where_the_claim_ends(size: int) -> None:
    kept = _first(list(BLOCKS), size)
    assert b"".join(kept) == b"".join(BLOCKS)[:size]
    assert all(kept)  # no empty block is passed on


def _written(target: Path, before: bytes, blocks: list[bytes]) -> bytes:
    """The file after `_pwrite_all` wrote the blocks at the end of `before` (which must leave
    the list it was given as it was: the caller hashes those blocks next)."""
    target.write_bytes(before)
    given = list(blocks)
    fd = os.open(target, os.O_WRONLY)
    try:
        _pwrite_all(fd, given, len(before))
    finally:
        os.close(fd)
    assert given == blocks
    return target.read_bytes()


def test_more_blocks_than_one_pwritev_takes_land_in_order_at_their_offset(tmp_path: Path) -> None:
    # More than the kernel's 1,024 buffers per call: one pwritev of them all would fail.
    blocks = [bytes([i % 251]) * (i % 7 + 1) for i in range(3 * _IOV_MAX + 5)]
    assert _written(tmp_path / "temp", b"-" * 10, blocks) == b"-" * 10 + b"".join(blocks)


def test_short_writes_resume_where_they_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kernel may write less than asked (a signal, a full disk's last blocks): the first
    # call here writes 2 bytes (inside the first block), the others at most 7, through the
    # real system call.
    real = os.pwritev
    calls: list[int] = []

    def short(fd: int, buffers: list[bytes], offset: int) -> int:
        joined = b"".join(buffers)[: 7 if calls else 2]
        calls.append(len(joined))
        return real(fd, [joined], offset)

    monkeypatch.setattr("podkit.worker.transfer.streaming.os.pwritev", short)
    assert _written(tmp_path / "temp", b"...", BLOCKS) == b"..." + b"".join(BLOCKS)
    assert calls == [2, 7, 7]
