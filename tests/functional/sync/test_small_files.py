"""Small files, fetched many at once in one loop: what goes wrong on the way (a reset, a
stall, a 503, a flipped byte, a file that never matches) ends as it does on the one-file
path, the deadline stops the loop cleanly, and the next run fetches only what is missing."""

from __future__ import annotations

import random
import time
from dataclasses import replace
from pathlib import Path

from podkit._http import RetryPolicy
from podkit.config.models import ModelSource
from podkit.worker.transfer import SyncOptions, sync_models
from tests.functional.sync.faultproxy import Fault, FaultProxy
from tests.functional.sync.testbed import Nginx, write_hf_repo

OPTIONS = SyncOptions(
    connections=4,
    fsync=False,
    stall_timeout=1.0,
    retry=RetryPolicy(attempts=6, base_delay=0.01, max_delay=0.2),
)
LEFTOVERS = (".incomplete", ".journal", ".podkit-lease", ".w")


def _leftovers(root: Path) -> list[str]:
    return [p.name for p in root.rglob(".*") if p.name.endswith(LEFTOVERS)]


def _small_repo(nginx: Nginx, name: str, count: int, seed: int) -> dict[str, bytes]:
    rnd = random.Random(seed)
    files = {f"tok/t{i:03d}.json": rnd.randbytes(rnd.randint(1, 40_000)) for i in range(count)}
    write_hf_repo(nginx.www, name, files)
    return files


def test_faults_in_the_loop_are_retried_and_every_file_lands_verified(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    files = _small_repo(sync_nginx, "small/faults", count=40, seed=11)
    fault_proxy.add(
        Fault("reset", count=1, match="t003.json", after_bytes=10),
        Fault("stall", count=1, match="t007.json", after_bytes=0, seconds=3),
        Fault("status", status=503, count=1, match="t011.json", retry_after="0"),
        Fault("flip", count=1, match="t019.json", after_bytes=0),
    )
    entry = ModelSource(source="hf://small/faults", destination="sf")
    env = {"HF_ENDPOINT": f"{fault_proxy.url}/hf"}
    report = sync_models([entry], volume, options=OPTIONS, env=env)
    assert report.status == "ok", report.message
    assert sorted(set(fault_proxy.stats.applied)) == ["flip", "reset", "stall", "status"]
    assert {path: (volume / "sf" / path).read_bytes() for path in files} == files
    assert report.entries[0].fetched == len(files)
    assert report.data_requests == len(files) + 4  # each fault cost one more request
    assert _leftovers(volume) == []
    again = sync_models([entry], volume, options=OPTIONS, env=env)
    assert again.status == "ok" and again.data_requests == 0


def test_a_small_file_that_never_matches_fails_alone_after_the_verify_attempts(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    files = _small_repo(sync_nginx, "small/wrong", count=12, seed=12)
    fault_proxy.add(Fault("flip", count=100, match="t005.json", after_bytes=0))
    entry = ModelSource(source="hf://small/wrong", destination="sw")
    env = {"HF_ENDPOINT": f"{fault_proxy.url}/hf"}
    report = sync_models([entry], volume, options=OPTIONS, env=env)
    assert report.status == "failed"
    (failure,) = report.entries[0].failed.items()
    assert failure[0] == "tok/t005.json" and "git_sha1 mismatch after 3 downloads" in failure[1]
    assert fault_proxy.stats.applied.count("flip") == 3
    assert not (volume / "sw/tok/t005.json").exists() and _leftovers(volume) == []
    assert all((volume / "sw" / p).read_bytes() == d for p, d in files.items() if "t005" not in p)


def test_the_deadline_stops_the_loop_and_the_next_run_fetches_only_the_rest(
    sync_nginx: Nginx, fault_proxy: FaultProxy, volume: Path
) -> None:
    files = _small_repo(sync_nginx, "small/deadline", count=30, seed=13)
    fault_proxy.add(Fault("delay", count=1000, match="/resolve/", seconds=0.3))
    entry = ModelSource(source="hf://small/deadline", destination="sd")
    env = {"HF_ENDPOINT": f"{fault_proxy.url}/hf"}
    options = replace(OPTIONS, connections=2, deadline=time.monotonic() + 1.5)
    first = sync_models([entry], volume, options=options, env=env)
    assert first.status == "partial", first.message
    landed = [p for p in files if (volume / "sd" / p).exists()]
    assert 0 < len(landed) < len(files)
    assert all((volume / "sd" / p).read_bytes() == files[p] for p in landed)
    assert _leftovers(volume) == []
    fault_proxy.reset()
    second = sync_models([entry], volume, options=OPTIONS, env=env)
    assert second.status == "ok", second.message
    assert second.data_requests == len(files) - len(landed)
    assert {path: (volume / "sd" / path).read_bytes() for path in files} == files


def test_the_loop_keeps_within_the_connection_budget_over_http_1_1(
    sync_nginx: Nginx, volume: Path
) -> None:
    # Plain HTTP multiplexes nothing: each transfer in flight holds a connection of its own.
    files = _small_repo(sync_nginx, "small/budget", count=60, seed=14)
    entry = ModelSource(source="hf://small/budget", destination="sb")
    options = replace(OPTIONS, connections=3)
    report = sync_models(
        [entry], volume, options=options, env={"HF_ENDPOINT": f"{sync_nginx.url}/hf"}
    )
    assert report.status == "ok", report.message
    assert {path: (volume / "sb" / path).read_bytes() for path in files} == files
    served_on = sync_nginx.connections(sync_nginx.ports.http, "/hf/small/budget/resolve/")
    assert 1 < len(served_on) <= 3
