"""The pause before a file's next attempt: the server's Retry-After (seconds or an HTTP date),
else the policy's backoff; never past the policy's longest wait nor the sync's deadline."""

from __future__ import annotations

import email.utils
import time

import pytest

from podkit._http import RetryPolicy
from podkit.worker.transfer.jobs import SyncOptions


def _slept(retry_after: str | None, *, delay: float = 0.5, left: float | None = None) -> float:
    waits: list[float] = []
    now = 500.0  # the sync's own clock, which the deadline is on
    options = SyncOptions(
        retry=RetryPolicy(attempts=4, base_delay=0.1, max_delay=30.0),
        clock=lambda: now,
        sleep=waits.append,
        deadline=None if left is None else now + left,
    )
    options.pause(delay, retry_after)
    assert len(waits) == 1
    return waits[0]


def test_the_backoff_is_taken_without_a_retry_after() -> None:
    assert _slept(None, delay=0.5) == 0.5
    assert _slept("", delay=1.5) == 1.5
    assert _slept("soon", delay=2.0) == 2.0  # one that does not parse


def test_retry_after_seconds_are_taken_as_asked_up_to_the_longest_wait() -> None:
    assert _slept("7") == 7.0
    assert _slept("0", delay=3.0) == 0.0
    assert _slept("3600") == 30.0


def test_retry_after_as_an_http_date_waits_until_then() -> None:
    then = email.utils.formatdate(time.time() + 12, usegmt=True)
    assert _slept(then) == pytest.approx(12, abs=1.5)
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert _slept(past, delay=4.0) == 0.0


def test_no_wait_ends_past_the_deadline() -> None:
    assert _slept("20", left=5.0) == 5.0
    assert _slept(None, delay=2.0, left=5.0) == 2.0
    assert _slept("20", left=-1.0) == 0.0
