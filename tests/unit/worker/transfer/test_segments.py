"""Splitting a span of a file: where the cut goes, when it is not worth it, who ends, and
how the segments' crc32c add up to the span's; and chunk sizes that fill whole rounds."""

from __future__ import annotations

import hashlib
import itertools
import os
from pathlib import Path

import pytest

from podkit.worker.transfer.jobs import chunk_size_for, split_chunks
from podkit.worker.transfer.segments import (
    ANSWERS_KEPT,
    MAX_SEGMENTS,
    SPLIT_MIN_BYTES,
    AnswerTimes,
    Span,
    WholeFile,
)
from podkit.worker.transfer.verify import crc32c_of

MiB = 1024 * 1024


def _streaming(size: int, written: int, elapsed: float) -> Span:
    """A span whose first segment wrote `written` bytes in `elapsed` seconds."""
    span = Span(0, size, crc32c=False, now=0.0)
    span.head.claim(written)
    return span


def test_a_split_with_no_answer_time_gives_away_the_back_half_of_what_is_left() -> None:
    whole = _streaming(64 * MiB, 16 * MiB, elapsed=1.0)
    tail = whole.split(now=1.0)
    assert tail is not None
    assert (tail.start, tail.position, tail.end) == (40 * MiB, 40 * MiB, 64 * MiB)
    assert whole.head.end == 40 * MiB and whole.running == 2
    assert [s.start for s in whole.segments] == [0, 40 * MiB]


def test_the_stream_that_would_finish_last_is_the_one_split() -> None:
    whole = _streaming(64 * MiB, 16 * MiB, elapsed=1.0)
    tail = whole.split(now=1.0)
    assert tail is not None
    tail.claim(1 * MiB)  # 1 MiB of its 24 in the 1 s since the split: far slower than the head
    again = whole.split(now=2.0)
    assert again is not None
    assert again.start == 41 * MiB + (64 - 41) * MiB // 2
    assert tail.end == again.start and whole.head.end == 40 * MiB


def test_no_split_before_a_rate_is_known_or_when_the_rest_is_small_or_quick() -> None:
    assert _streaming(64 * MiB, 0, elapsed=1.0).split(now=1.0) is None  # no bytes yet
    almost = _streaming(64 * MiB, 64 * MiB - SPLIT_MIN_BYTES + 1, elapsed=1.0)
    assert almost.split(now=1.0) is None  # under SPLIT_MIN_BYTES to go
    quick = _streaming(64 * MiB, 32 * MiB, elapsed=0.01)
    assert quick.split(now=0.01) is None  # 32 MiB left at 3 GiB/s: done in 10 ms (under 15)
    assert (almost.running, quick.running) == (1, 1)


def test_a_claimed_block_never_crosses_the_cut() -> None:
    whole = _streaming(64 * MiB, 16 * MiB, elapsed=1.0)
    tail = whole.split(now=1.0)
    assert tail is not None
    assert whole.head.claim(100 * MiB) == (16 * MiB, 24 * MiB)  # up to the cut, not past it
    assert whole.head.claim(1) == (40 * MiB, 0)
    assert whole.written() == 40 * MiB


def test_a_file_is_cut_into_at_most_max_segments() -> None:
    whole = _streaming(1024 * MiB, 8 * MiB, elapsed=1.0)
    while (tail := whole.split(now=1.0)) is not None:
        tail.claim(MiB)
        tail.began = 0.0
    assert len(whole.segments) == MAX_SEGMENTS == whole.running
    ends = sorted((s.start, s.end) for s in whole.segments)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ends))  # no gap, no overlap
    assert ends[0][0] == 0 and ends[-1][1] == 1024 * MiB


def test_the_last_part_to_end_finishes_up_and_one_failure_spoils_the_file() -> None:
    whole = _streaming(64 * MiB, 16 * MiB, elapsed=1.0)
    assert whole.split(now=1.0) is not None
    assert whole.part_ended(ok=False) is False
    assert whole.split(now=1.0) is None  # a failed file is not split further
    assert whole.part_ended(ok=True) is True
    assert whole.ok is False


def test_the_crc32c_of_a_split_span_is_that_of_its_bytes() -> None:
    data = os.urandom(12 * MiB)
    span = Span(4 * MiB, 16 * MiB, crc32c=True, now=0.0)

    def write(segment_index: int, size: int) -> None:
        segment = span.segments[segment_index]
        offset, take = segment.claim(size)
        assert segment.crc is not None
        segment.crc.update(data[offset - 4 * MiB : offset - 4 * MiB + take])

    write(0, 3 * MiB)
    assert span.split(now=1.0) is not None  # [11.5, 16) MiB goes to a second segment
    write(1, 2 * MiB)
    assert span.split(now=2.0) is not None  # the slower one, the first, is cut again
    for index in range(3):
        write(index, 16 * MiB)
    assert span.written() == 12 * MiB
    assert span.crc32c() == crc32c_of(data)


def _write(whole: WholeFile, segment_index: int, data: bytes, size: int) -> None:
    """Claim and write `size` bytes of a segment, as the wire's sink does."""
    segment = whole.segments[segment_index]
    offset, taken = segment.claim(size)
    with whole.temp.open("r+b") as handle:
        handle.seek(offset)
        handle.write(data[offset : offset + taken])
    segment.written_to = offset + taken


def test_hashing_ahead_reads_only_what_is_written_and_the_digest_covers_every_segment(
    tmp_path: Path,
) -> None:
    data = os.urandom(12 * MiB)
    whole = WholeFile.create(
        tmp_path / "shard.bin", len(data), crc32c=False,
        hashers={"sha256": hashlib.sha256()}, now=0.0,
    )  # fmt: skip
    head = whole.head
    head.claim(1 * MiB)  # claimed, not written yet (the zeros of a sparse file)
    whole.hash_ahead()
    head.position = 0
    _write(whole, 0, data, 3 * MiB)
    whole.hash_ahead()
    tail = whole.split(now=1.0)
    assert tail is not None
    _write(whole, 0, data, head.end - head.position)
    _write(whole, 1, data, tail.end - tail.start)
    whole.hash_ahead()
    assert whole.digests() == {"sha256": hashlib.sha256(data).hexdigest()}


@pytest.mark.parametrize(
    ("size", "connections", "chunk", "count"),
    [
        (1024 * MiB, 16, 16 * MiB, 64),  # four whole rounds already
        (300 * MiB, 16, 300 * MiB // 32, 32),  # two rounds of 9.4 MiB, not 18 x 16 MiB + 12
        (100 * MiB, 1, 14 * MiB + 320 * 1024, 7),  # one connection: 7 chunks either way
        (5 * MiB, 4, 640 * 1024, 8),
    ],
)
def test_chunks_fill_whole_rounds_of_the_connections(
    size: int, connections: int, chunk: int, count: int
) -> None:
    assert chunk_size_for(size, 16 * MiB if size > 5 * MiB else MiB, connections) == chunk
    chunks = split_chunks(size, chunk)
    assert len(chunks) == count and chunks[-1][1] == size
    assert len(chunks) % connections == 0 or connections == 1


def test_a_split_leaves_the_new_part_less_by_what_the_old_writes_while_it_waits() -> None:
    whole = _streaming(64 * MiB, 16 * MiB, elapsed=1.0)  # 16 MiB/s: 48 MiB left take 3 s
    tail = whole.split(now=1.0, answer=0.5)
    assert tail is not None
    # The old part writes 8 MiB in the 0.5 s the new one waits; the other 40 are shared.
    assert (tail.start, tail.end) == (44 * MiB, 64 * MiB)
    assert whole.head.end == 44 * MiB


def test_no_split_when_the_rest_takes_less_than_two_answers() -> None:
    slow_to_answer = _streaming(64 * MiB, 16 * MiB, elapsed=1.0)  # 3 s to go
    assert slow_to_answer.split(now=1.0, answer=1.6) is None
    assert slow_to_answer.split(now=1.0, answer=1.4) is not None


def test_the_answer_time_is_the_shortest_of_the_last_few() -> None:
    answers = AnswerTimes()
    assert answers.shortest() == 0.0  # before any: splits wait for no answer
    for seconds in (0.040, 0.035, 0.002, 0.003):  # handshakes first, then a kept connection
        answers.add(seconds)
    assert answers.shortest() == 0.002
    for _ in range(ANSWERS_KEPT):
        answers.add(0.010)  # the server slowed down: the fast answers age out
    assert answers.shortest() == 0.010
