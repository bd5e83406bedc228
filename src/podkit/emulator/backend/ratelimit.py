"""Opt-in v2 rate limits per account in fixed minute/hour/day windows, with the IETF headers.

Off by default (the platform's quotas are examples, and tests make many calls); turn on with
`backend.rate_limits.set(minute=60)`, `--rate-limit minute=60` or `PUT /_emulator/rate-limits`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOWS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Verdict:
    """Whether a request may pass, and the headers that describe the windows."""

    allowed: bool
    headers: dict[str, str]
    retry_after_s: int = 0
    window: str = ""


@dataclass
class RateLimits:
    """Request quotas per account and window; `quotas` empty means no limits, no headers."""

    quotas: dict[str, int] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    _used: dict[tuple[str, str, int], int] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set(self, **quotas: int) -> None:
        """E.g. `set(minute=60, hour=3000)`; `set()` turns limits off."""
        unknown = set(quotas) - set(WINDOWS)
        if unknown:
            raise ValueError(f"unknown rate-limit window(s) {sorted(unknown)}; use {list(WINDOWS)}")
        with self._lock:
            self.quotas = dict(quotas)
            self._used.clear()

    def check(self, account: str) -> Verdict:
        """Count one request for `account` unless a window is exhausted."""
        with self._lock:
            if not self.quotas:
                return Verdict(True, {})
            now = self.clock()
            state = {}
            for name, quota in self.quotas.items():
                width = WINDOWS[name]
                start = int(now // width) * width
                state[name] = (quota, self._used.get((account, name, start), 0), start, width)
            full = [n for n, (q, used, _, _) in state.items() if used >= q]
            if not full:
                for name, (_, used, start, _) in state.items():
                    self._used[(account, name, start)] = used + 1
            return self._verdict(state, full, now)

    def _verdict(
        self, state: dict[str, tuple[int, int, int, int]], full: list[str], now: float
    ) -> Verdict:
        charged = 0 if full else 1
        resets = {n: max(1, int(start + width - now)) for n, (_, _, start, width) in state.items()}
        remaining = ", ".join(
            f'"{n}";r={max(0, q - used - charged)};t={resets[n]}'
            for n, (q, used, _, _) in state.items()
        )
        policy = ", ".join(f'"{n}";q={q};w={WINDOWS[n]}' for n, (q, _, _, _) in state.items())
        headers = {"RateLimit": remaining, "RateLimit-Policy": policy}
        if not full:
            return Verdict(True, headers)
        longest = max(full, key=lambda n: resets[n])
        return Verdict(False, headers, resets[longest], longest)
