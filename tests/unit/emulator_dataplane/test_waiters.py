"""Waiters: a request parked on an endpoint wakes when another thread changes it (no I/O)."""

from __future__ import annotations

import asyncio
import threading

from podkit.emulator.dataplane.waiters import Waiters


def test_wakes_on_a_change_from_another_thread_and_times_out_otherwise() -> None:
    waiters = Waiters()
    box: list[str] = []

    def later() -> None:
        box.append("job")
        waiters.wake("ep")

    async def scenario() -> tuple[str | None, str | None]:
        timer = threading.Timer(0.05, later)
        timer.start()
        got = await waiters.wait_for("ep", lambda: box[0] if box else None, timeout=10)
        missed = await waiters.wait_for("other", lambda: None, timeout=0.05)
        timer.join()
        return got, missed

    assert asyncio.run(scenario()) == ("job", None)
    assert waiters._futures == {"ep": set(), "other": set()}  # nothing left registered
