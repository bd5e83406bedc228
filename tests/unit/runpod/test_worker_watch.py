"""Sampling the worker list catches workers that die before they are ready."""

from __future__ import annotations

from podkit.runpod.diagnose import WorkerView
from podkit.runpod.worker_watch import watch_workers


def test_workers_that_vanish_before_ready_are_reported_and_the_watch_stops_early() -> None:
    samples = iter(
        [
            [WorkerView("w1", "INITIALIZING")],
            [],
            [WorkerView("w2", "INITIALIZING"), WorkerView("ok", "IDLE")],
            [WorkerView("ok", "IDLE")],
            [WorkerView("w3", "INITIALIZING")],
        ]
    )
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    result = watch_workers(lambda: next(samples), seconds=10, sleep=sleep, clock=lambda: now[0])
    assert result.vanished == ["w1", "w2"]
    assert result.ready == {"ok"}
    assert now[0] == 0.75  # stopped after the second death, not after 10 s


def test_a_worker_that_became_ready_and_left_is_not_a_crash() -> None:
    samples = iter([[WorkerView("w1", "IDLE")], []])
    now = [0.0]
    result = watch_workers(
        lambda: next(samples, []),
        seconds=1,
        sleep=lambda s: now.__setitem__(0, now[0] + s),
        clock=lambda: now[0],
    )
    assert result.vanished == [] and set(result.seen) == {"w1"}


def test_a_worker_listed_unhealthy_died_young_even_while_it_stays_listed() -> None:
    samples = iter([[WorkerView("w1", "INITIALIZING")], [WorkerView("w1", "UNHEALTHY")], []])
    now = [0.0]
    result = watch_workers(
        lambda: next(samples, []),
        seconds=1,
        sleep=lambda s: now.__setitem__(0, now[0] + s),
        clock=lambda: now[0],
    )
    assert result.vanished == ["w1"]  # once, though it was listed dead and then left
