"""The automatic connection budget: grown while the rate follows, stepped back where it stops."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from podkit.worker.transfer import ConnectionSetting, options_for
from podkit.worker.transfer.scaling import AUTO_LIMIT, AUTO_START, Scaler

STEP = 0.05  # seconds between two looks, as the runner's


def _changes(
    scaler: Scaler, rate_at: Callable[[int], float], seconds: float
) -> list[tuple[float, int]]:
    """Feed `scaler` a link whose rate depends only on the budget; when it chose which."""
    now, fetched, changes = 0.0, 0, [(0.0, scaler.size)]
    for _ in range(int(seconds / STEP)):
        now += STEP
        fetched += int(rate_at(scaler.size) * STEP)
        if scaler.observe(now, fetched) != changes[-1][1]:
            changes.append((now, scaler.size))
    return changes


def _run(scaler: Scaler, rate_at: Callable[[int], float], seconds: float = 5.0) -> list[int]:
    return [size for _, size in _changes(scaler, rate_at, seconds)]


def test_a_link_capped_per_connection_grows_the_budget_to_its_limit() -> None:
    scaler = Scaler(16, 64)
    assert _run(scaler, lambda size: size * 40e6) == [16, 24, 36, 54, 64]
    assert scaler.settled


def test_the_budget_returns_to_the_last_size_that_paid_and_tries_again_less_often() -> None:
    scaler = Scaler(16, 64)  # the link tops out at 28 connections' worth
    changes = _changes(scaler, lambda size: min(size, 28) * 40e6, seconds=20.0)
    sizes = [size for _, size in changes]
    assert sizes[:4] == [16, 24, 36, 24]
    assert set(sizes[4:]) == {24, 36}  # tried again, stepped back each time
    backs = [at for at, size in changes[3:] if size == 24]
    pauses = [later - earlier for earlier, later in itertools.pairwise(backs)]
    assert len(pauses) >= 3
    assert all(b > a for a, b in itertools.pairwise(pauses))  # each pause longer
    assert not scaler.settled


def test_a_gain_below_half_of_the_added_connections_share_does_not_pay() -> None:
    # 16 -> 24 adds half the connections; a 20 % higher rate is less than half of that.
    scaler = Scaler(16, 64)
    assert _run(scaler, lambda size: 600e6 if size == 16 else 720e6, seconds=1.0) == [16, 24, 16]


def test_nothing_is_decided_before_the_first_bytes() -> None:
    scaler = Scaler(16, 64)
    assert _run(scaler, lambda size: 0.0) == [16]
    assert not scaler.settled


def test_a_budget_at_its_limit_is_settled_from_the_start() -> None:
    scaler = Scaler(8, 8)
    assert scaler.settled
    assert scaler.observe(1.0, 10**9) == 8


@pytest.mark.parametrize(
    ("setting", "connections", "grow_to"), [("auto", AUTO_START, AUTO_LIMIT), (8, 8, None)]
)
def test_options_for_a_setting(
    setting: ConnectionSetting, connections: int, grow_to: int | None
) -> None:
    options = options_for(setting, deadline=12.5)
    assert (options.connections, options.grow_to, options.deadline) == (connections, grow_to, 12.5)
