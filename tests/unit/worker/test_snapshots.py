"""The sorted-name snapshots that make later pages cheap expire and stay bounded."""

from __future__ import annotations

import threading

from podkit.worker.listing import SNAPSHOT_TTL_S, SNAPSHOTS_KEPT, SnapshotCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_snapshot_expires_after_its_ttl() -> None:
    clock = Clock()
    cache = SnapshotCache(clock)
    cache.put((1, 2, 3, 4), [("a", False)])
    assert cache.get((1, 2, 3, 4)) == [("a", False)]
    clock.now = SNAPSHOT_TTL_S + 1
    assert cache.get((1, 2, 3, 4)) is None


def test_a_changed_directory_has_another_key() -> None:
    cache = SnapshotCache(Clock())
    cache.put((1, 2, 3, 4), [("a", False)])
    assert cache.get((1, 2, 3, 5)) is None


def test_only_the_most_recent_snapshots_are_kept() -> None:
    cache = SnapshotCache(Clock())
    for i in range(SNAPSHOTS_KEPT + 2):
        cache.put((i,), [])
    assert cache.get((0,)) is None
    assert cache.get((1,)) is None
    assert cache.get((SNAPSHOTS_KEPT + 1,)) == []


def test_threads_getting_and_putting_at_once_never_fail() -> None:
    cache = SnapshotCache()
    failures: list[BaseException] = []

    def churn(seed: int) -> None:
        try:
            for i in range(20_000):
                key = ((seed + i) % 8,)
                if cache.get(key) is None:
                    cache.put(key, [])
        except BaseException as exc:  # what the test is looking for
            failures.append(exc)

    threads = [threading.Thread(target=churn, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
