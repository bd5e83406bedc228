"""The connection budget on a real pool: the connections an automatic budget adds, and those a
fixed one has beyond its files, take the back halves of running streams; a fixed budget never
runs more connections than it was given.

The streams come through the fault proxy, which holds every one after its first MiB until the
test lets them go: while they are held, only a connection that has just been added is idle, so
each request that arrives then is an added connection taking a back half. The automatic budget
is a real `Scaler` fed a link the test defines (`ModelLink`): each look at the rate is STEP
seconds after the last and finds the bytes that link carries at the budget's size, once every
connection of that size has asked for a stream. What it decides follows from that link alone,
not from how fast or busy the machine is; the rule itself is checked in
tests/unit/worker/transfer/test_scaling.py."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from podkit.config.models import ModelSource
from podkit.worker.transfer import Progress, SyncOptions, SyncReport, sync_models
from podkit.worker.transfer.scaling import Scaler
from tests.functional.sync.faultproxy import Fault, FaultProxy, Seen
from tests.functional.sync.test_split import LEFTOVERS, OPTIONS
from tests.functional.sync.testbed import Nginx, write_hf_repo

MiB = 1024 * 1024
STEP = 0.05  # seconds of the link between two looks, as the runner's
RATE = 2 * MiB  # bytes/s: the link's rate per connection (or in all)


class ModelLink:
    """A `Scaler` that sees a link whose rate depends only on the budget's size. The link's
    time runs from the run's first real bytes on, and only while `streams()` (the requests
    made so far) are at least as many as the connections; it remembers every size chosen."""

    def __init__(
        self, start: int, limit: int, rate_at: Callable[[int], float], streams: Callable[[], int]
    ) -> None:
        self._scaler = Scaler(start, limit)
        self._rate_at, self._streams = rate_at, streams
        self._now, self._fetched = 0.0, 0
        self.sizes = [start]

    @property
    def size(self) -> int:
        return self._scaler.size

    @property
    def settled(self) -> bool:
        return self._scaler.settled

    def observe(self, now: float, fetched: int) -> int:
        if fetched > 0 and self._streams() >= self._scaler.size:
            self._now += STEP
            self._fetched += int(self._rate_at(self._scaler.size) * STEP)
        size = self._scaler.observe(self._now, self._fetched)
        if size != self.sizes[-1]:
            self.sizes.append(size)
        return size


class Release:
    """Lets the held streams go once `ready()` holds, and remembers how many requests had
    arrived by then (those made while every stream was held)."""

    def __init__(self, proxy: FaultProxy, ready: Callable[[], bool]) -> None:
        self._proxy, self._ready = proxy, ready
        self._lock = threading.Lock()
        self.arrived: int | None = None

    def __call__(self) -> bool:
        with self._lock:
            if self.arrived is None and self._ready():
                self.arrived = len(self._proxy.stats.seen)
            return self.arrived is not None

    def held_requests(self) -> list[Seen]:
        """The model's requests made while every stream was held."""
        assert self.arrived is not None, "the streams were never let go"
        return [s for s in self._proxy.stats.seen[: self.arrived] if ".safetensors" in s.path]


def _files(nginx: Nginx, repo: str) -> dict[str, bytes]:
    files = {
        f"model-{i}.safetensors": hashlib.shake_256(b"%s%d" % (repo.encode(), i)).digest(8 * MiB)
        for i in range(2)
    }
    write_hf_repo(nginx.www, repo, files)
    return files


def _check(report: SyncReport, volume: Path, files: dict[str, bytes]) -> None:
    assert report.status == "ok", report.message
    for path, data in files.items():
        assert (volume / "m" / path).read_bytes() == data
    assert not [p for p in volume.rglob(".*") if p.name.endswith(LEFTOVERS)]
    assert report.entries[0].bytes_fetched == 16 * MiB  # split between connections, never twice


def _sync_held(
    proxy: FaultProxy, volume: Path, repo: str, options: SyncOptions, ready: Callable[[], bool]
) -> tuple[SyncReport, Release]:
    """Sync `repo` through the proxy, every stream held after its first MiB until `ready()`."""
    release = Release(proxy, ready)
    hold = Fault("hold", count=1000, match=".safetensors", after_bytes=MiB, seconds=30.0)
    proxy.add(replace(hold, until=release))
    entry = ModelSource(source=f"hf://{repo}", destination="m")
    report = sync_models([entry], volume, options=options, env={"HF_ENDPOINT": f"{proxy.url}/hf"})
    return report, release


def _requests(proxy: FaultProxy) -> int:
    return len(proxy.seen_for(".safetensors"))


def _added_connections_took_back_halves(requests: list[Seen], added: int) -> None:
    """The two streams from byte 0, then `added` back halves, each on a connection of its own."""
    heads, tails = requests[:2], requests[2:]
    assert [seen.span[0] if seen.span else None for seen in heads] == [0, 0]
    assert len(tails) == added
    assert all(seen.span is not None and seen.span[0] > MiB for seen in tails)
    assert len({seen.client_port for seen in requests}) == 2 + added


def _growing(
    proxy: FaultProxy, made: list[ModelLink], rate_at: Callable[[int], float]
) -> SyncOptions:
    """Two connections that may grow to four, judged on the link `rate_at` defines."""

    def budget(start: int, limit: int) -> ModelLink:
        made.append(ModelLink(start, limit, rate_at, lambda: _requests(proxy)))
        return made[-1]

    return replace(OPTIONS, connections=2, grow_to=4, budget=budget)


def test_a_budget_grows_to_its_limit_where_each_connection_adds_its_rate(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    files = _files(sync_nginx, "budget/auto")
    made: list[ModelLink] = []

    def ready() -> bool:  # settled, and both added connections found work
        return bool(made) and made[0].settled and _requests(fault_proxy) >= 4

    options = _growing(fault_proxy, made, lambda size: size * RATE)
    report, release = _sync_held(fault_proxy, volume, "budget/auto", options, ready)
    _check(report, volume, files)
    assert made[0].sizes == [2, 3, 4]
    assert report.connections == 4
    _added_connections_took_back_halves(release.held_requests(), added=2)


def test_a_budget_steps_back_where_more_connections_do_not_add_to_the_rate(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    files = _files(sync_nginx, "budget/shared")
    made: list[ModelLink] = []

    def ready() -> bool:  # grown once, the added connection found work, stepped back
        return bool(made) and made[0].sizes[:3] == [2, 3, 2]

    options = _growing(fault_proxy, made, lambda size: 2 * RATE)
    report, release = _sync_held(fault_proxy, volume, "budget/shared", options, ready)
    _check(report, volume, files)
    assert max(made[0].sizes) == 3 and not made[0].settled  # it tries again, never further
    assert report.connections == made[0].sizes[-1]
    _added_connections_took_back_halves(release.held_requests(), added=1)


def test_a_fixed_budget_never_runs_more_connections(sync_nginx: Nginx, volume: Path) -> None:
    # Two streams capped at 2 MiB/s each (nginx's slow port), where an automatic budget grows:
    # the pool's threads (one connection at a time each) are the two it was given.
    files = _files(sync_nginx, "budget/fixed")
    threads: set[str] = set()

    def seen_threads(_: Progress) -> None:
        threads.update(t.name for t in threading.enumerate() if t.name.startswith("podkit-sync_"))

    entry = ModelSource(source="hf://budget/fixed", destination="m")
    report = sync_models(
        [entry], volume, options=replace(OPTIONS, connections=2), progress=seen_threads,
        env={"HF_ENDPOINT": f"{sync_nginx.slow_url}/hf"},
    )  # fmt: skip
    _check(report, volume, files)
    assert report.connections == 2
    assert threads == {"podkit-sync_0", "podkit-sync_1"}


def test_a_budget_larger_than_the_file_count_splits_the_streams_from_the_start(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    # Two files on four connections: the two threads without a file of their own start with
    # the streams and take their back halves, instead of waiting for a file that never comes.
    files = _files(sync_nginx, "budget/wide")

    options = replace(OPTIONS, connections=4)
    report, release = _sync_held(
        fault_proxy, volume, "budget/wide", options, lambda: _requests(fault_proxy) >= 4
    )
    _check(report, volume, files)
    assert report.connections == 4
    _added_connections_took_back_halves(release.held_requests(), added=2)
