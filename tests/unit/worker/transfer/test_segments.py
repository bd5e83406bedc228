"""Splitting a whole-file stream: where the cut goes, when it is not worth it, and who ends."""

from __future__ import annotations

import itertools
from pathlib import Path

from podkit.worker.transfer.segments import (
    MAX_SEGMENTS,
    SPLIT_MIN_BYTES,
    Segment,
    WholeFile,
)

MiB = 1024 * 1024


def _streaming(size: int, written: int, elapsed: float) -> WholeFile:
    """A whole file whose first segment wrote `written` bytes in `elapsed` seconds."""
    whole = WholeFile(Path("unused"), size, fd=-1)
    whole.head.claim(written)
    whole.head.began = 0.0
    return whole


def test_a_split_gives_away_the_back_half_of_what_is_left() -> None:
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
    assert almost.split(now=1.0) is None  # under 2 MiB to go
    quick = _streaming(64 * MiB, 32 * MiB, elapsed=0.01)
    assert quick.split(now=0.01) is None  # 32 MiB left at 3 GiB/s: done in 10 ms
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


def test_a_restarted_segment_gives_back_what_it_had_claimed() -> None:
    segment = Segment(4 * MiB, 8 * MiB, 4 * MiB)
    segment.claim(3 * MiB)
    assert segment.restart(now=5.0) == 3 * MiB
    assert (segment.position, segment.began) == (4 * MiB, 5.0)
