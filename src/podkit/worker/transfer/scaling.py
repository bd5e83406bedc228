"""An automatic connection budget: grow while the rate follows, step back where it stops.

Servers and links often cap each connection (a CDN's per-request pacing, a TCP window over a
long round trip), so more connections fetch faster, until the link, the disk or the CPU is the
limit instead. The right count differs from one worker to the next; `Scaler` finds it as the
sync runs. It measures the rate, grows the budget by half, lets the new connections start, and
measures again. The growth stays when the rate rose by at least `payoff` of what the added
connections would give at the old rate per connection; otherwise the budget goes back to the
last size that paid, and tries again after a pause that doubles each time (`retry_after`, up
to `RETRY_MAX`): one noisy measurement should not fix the budget for a long sync, whose
conditions change. New connections find work by splitting the slowest streams (segments.py)
or in the queue.
"""

from __future__ import annotations

import math
from typing import Literal

from podkit.worker.transfer.jobs import SyncOptions

AUTO_START, AUTO_LIMIT = 16, 64
GROWTH = 1.5  # each step adds half the connections
RETRY_MAX = 30.0  # seconds: the longest pause before growing again after a step that did not pay
WINDOW_SHARE, WINDOW_MAX = 0.25, 5.0  # a measurement: this share of the time since the first bytes

ConnectionSetting = int | Literal["auto"]


def options_for(setting: ConnectionSetting, *, deadline: float | None) -> SyncOptions:
    """The options of a sync on a fixed budget, or on an automatic one ("auto")."""
    if setting == "auto":
        return SyncOptions(connections=AUTO_START, grow_to=AUTO_LIMIT, deadline=deadline)
    return SyncOptions(connections=setting, deadline=deadline)


class Scaler:
    """The budget to run at, from the bytes fetched so far (no clock or threads of its own).

    A measurement lasts a quarter of the time since the first bytes, from `window` up to
    `WINDOW_MAX` seconds, and starts half a window after the budget changed: short while a
    sync is young, so a small one still gains, and steadier once it has run for a while.
    """

    def __init__(
        self,
        start: int,
        limit: int,
        *,
        window: float = 0.1,
        payoff: float = 0.5,
        retry_after: float = 0.5,
    ) -> None:
        self.size = start
        self.settled = start >= limit  # at the limit: nothing left to try
        self._limit = limit
        self._min_window, self._payoff = window, payoff
        self._retry_after = retry_after
        self._began: float | None = None  # when the first bytes came
        self._paid: tuple[int, float] | None = None  # (size, rate) of the last size that paid
        self._measure_from = 0.0  # when the current measurement may start
        self._mark: tuple[float, int] | None = None  # (time, bytes) it started at

    def _window(self, now: float) -> float:
        since = 0.0 if self._began is None else now - self._began
        return min(WINDOW_MAX, max(self._min_window, since * WINDOW_SHARE))

    def observe(self, now: float, fetched: int) -> int:
        """Feed the clock and the bytes fetched so far; returns the budget to run at."""
        if self.settled:
            return self.size
        if self._began is None:
            if fetched > 0:  # the first bytes: let the first connections get going
                self._began = now
                self._measure_from = now + self._window(now) / 2
            return self.size
        if now < self._measure_from:
            return self.size
        if self._mark is None:
            self._mark = (now, fetched)
            return self.size
        began, base = self._mark
        if now - began < self._window(began):
            return self.size
        self._decide((fetched - base) / (now - began), now)
        return self.size

    def _decide(self, rate: float, now: float) -> None:
        settle = self._window(now) / 2
        self._mark = None
        paid = self._paid
        if paid is not None:
            size, paid_rate = paid
            wanted = paid_rate * (1 + self._payoff * (self.size - size) / size)
            if rate < wanted:
                self.size, self._paid = size, None
                self._measure_from = now + self._retry_after + settle
                self._retry_after = min(RETRY_MAX, self._retry_after * 2)
                return
        self._paid = (self.size, rate)
        if self.size >= self._limit:
            self.settled = True
            return
        self.size = min(self._limit, math.ceil(self.size * GROWTH))
        self._measure_from = now + settle
