"""Trace S2 stream by stream: `.venv/bin/python -m bench.trace_s2` (not part of `make bench`).

Runs the engine on S2's 16 x 64 MiB shards from the capped port `TRACE_RUNS` times (default 3)
in one process and prints, per run, the total and per stream: when it ended, its rate, and the
bursts nginx's `limit_rate` sent it (median size, median pause between bursts). Halfway through
each run it also samples `ss` for every client socket's `rcv_space` (the receive window that
bounds a burst) and for which of nginx's two workers serves each stream. bench/RESULTS.md ("What
sets the spread between runs") reads these. `TRACE_AB=batch`, `block` or `split` instead times
pairs of runs with a setting each way (see `compare`).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import statistics
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from tests.functional.sync.testbed import Nginx, write_hf_repo

from bench.bench_sync import BASE, MiB, _alternated, _engine, _scratch
from podkit.config.models import ModelSource
from podkit.worker.transfer import _http11, pool, runner, streaming, sync_models

RUNS = int(os.environ.get("TRACE_RUNS", "3"))
PAUSE = 0.004  # a gap longer than this between two reads ends a burst


class ReadLog:
    """Every body read of the engine's connections, by the connection's local port."""

    def __init__(self) -> None:
        self.reads: dict[int, list[tuple[float, int]]] = defaultdict(list)
        self._original = _http11.Connection.read_some

    def install(self) -> None:
        original, reads = self._original, self.reads

        def read_some(conn: _http11.Connection, amount: int) -> bytes:
            block = original(conn, amount)
            reads[conn.sock.getsockname()[1]].append((time.perf_counter(), len(block)))
            return block

        _http11.Connection.read_some = read_some  # type: ignore[method-assign]


def bursts(reads: list[tuple[float, int]]) -> list[tuple[float, float, int]]:
    """(start, end, bytes) of each run of reads closer than PAUSE to the one before."""
    found: list[tuple[float, float, int]] = []
    for at, size in reads:
        if found and at - found[-1][1] <= PAUSE:
            start, _, total = found[-1]
            found[-1] = (start, at, total + size)
        else:
            found.append((at, at, size))
    return found


def receive_windows(port: int) -> list[int]:
    """rcv_space (bytes) of each client socket connected to `port`."""
    text = _ss("-tnmHi", f"( dport = :{port} )")
    return [int(found) for found in re.findall(r"rcv_space:(\d+)", text)]


def serving_workers(port: int) -> dict[int, int]:
    """Client port -> pid of the nginx worker that holds the other end."""
    text = _ss("-tnpH", f"( sport = :{port} )")
    found = re.findall(r":(\d+)\s+users:\(\(\"nginx\",pid=(\d+)", text)
    return {int(client): int(pid) for client, pid in found}


def _ss(*args: str) -> str:
    return subprocess.run(["ss", *args], capture_output=True, text=True, check=False).stdout


def sample(port: int, windows: list[int], workers: dict[int, int]) -> None:
    windows.extend(receive_windows(port))
    workers.update(serving_workers(port))


def trace(nginx: Nginx, work: Path, log: ReadLog) -> None:
    entry, env, connections = _scenario(nginx, "s2")
    for run in range(1, RUNS + 1):
        log.reads.clear()
        dest = work / "e"
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir()
        windows: list[int] = []
        workers: dict[int, int] = {}
        sampler = threading.Timer(0.8, sample, (nginx.ports.throttled, windows, workers))
        start = time.perf_counter()
        sampler.start()
        report = sync_models(entry, dest, options=replace(BASE, connections=connections), env=env)
        total = time.perf_counter() - start
        sampler.join()
        rate = report.entries[0].bytes_fetched / total / 1e6
        print(f"run {run}: {report.status} {total:.2f} s, {rate:.0f} MB/s")
        if windows:
            print(f"  receive windows at 0.8 s (KiB): {sorted(w // 1024 for w in windows)}")
        pids = sorted(set(workers.values()))
        streams = [(port, reads) for port, reads in log.reads.items() if len(reads) > 16]
        for port, reads in sorted(streams, key=lambda item: item[1][-1][0]):
            worker = pids.index(workers[port]) + 1 if port in workers else "?"
            print(f"  nginx worker {worker}: " + describe(reads, start))


def describe(reads: list[tuple[float, int]], start: float) -> str:
    """One stream: when it ended, its rate, and its bursts."""
    found = bursts(reads)
    sizes = [size / MiB for _, _, size in found]
    pauses = [(b[0] - a[1]) * 1000 for a, b in itertools.pairwise(found)]
    rate = sum(n for _, n in reads) / (reads[-1][0] - reads[0][0]) / 1e6
    return (
        f"ended {reads[-1][0] - start:.3f} s  {rate:5.1f} MB/s  {len(found)} bursts of "
        f"{statistics.median(sizes):.2f} MiB, pauses {statistics.median(pauses):.1f} ms"
    )


def compare(nginx: Nginx, work: Path, what: str, scenario: str, pairs: int) -> None:
    """`TRACE_AB=batch|block|split`: pairs of engine runs with one setting each way, alternating
    which goes first, after one warm-up pair; prints the median seconds of each. `batch`: the
    pool's threads as bulk work (SCHED_BATCH) or at the default; `block`: body reads of 256 or
    64 KiB; `split`: idle connections split whole-file streams, or never.
    `TRACE_ON`: `s2` (the shards, 16 connections), `s1-32` (1 GiB on the capped port, 32
    connections) or `uncapped-16` (1 GiB on the uncapped port, 16 connections)."""
    entry, env, connections = _scenario(nginx, scenario)
    options = replace(BASE, connections=connections)
    bulk, splittable = pool.as_bulk_work, runner.SPLITTABLE
    settings: dict[str, Callable[[], None]] = {
        "batch": lambda: setattr(pool, "as_bulk_work", bulk),
        "default": lambda: setattr(pool, "as_bulk_work", lambda: None),
        "256 KiB": lambda: setattr(streaming, "READ_BLOCK", 256 * 1024),
        "64 KiB": lambda: setattr(streaming, "READ_BLOCK", 64 * 1024),
        "split": lambda: setattr(runner, "SPLITTABLE", splittable),
        "no split": lambda: setattr(runner, "SPLITTABLE", 1 << 62),
    }
    names = {"batch": ("batch", "default"), "block": ("256 KiB", "64 KiB")}.get(
        what, ("split", "no split")
    )

    def run_with(name: str) -> Callable[[], float]:
        def run() -> float:
            settings[name]()
            return _engine(entry, work / "e", options, env)

        return run

    try:
        times = _alternated([run_with(names[0]), run_with(names[1])], pairs)
    finally:
        settings[names[0]]()  # the engine's own setting
    for name, seconds in zip(names, times, strict=True):
        listed = sorted(round(t, 2) for t in seconds)
        print(f"{scenario}, {name}: median {statistics.median(seconds):.3f} s  {listed}")


def _scenario(nginx: Nginx, scenario: str) -> tuple[list[ModelSource], dict[str, str], int]:
    if scenario == "s2":
        files = {f"model-{i:05d}-of-00016.safetensors": os.urandom(64 * MiB) for i in range(16)}
        write_hf_repo(nginx.www, "trace/sharded", files)
        entry = ModelSource(source="hf://trace/sharded", destination="s2")
        return [entry], {"HF_ENDPOINT": f"{nginx.throttled_url}/hf"}, 16
    (nginx.www / "one.bin").write_bytes(os.urandom(1024 * MiB))
    origin, connections = {"s1-32": (nginx.throttled_url, 32), "uncapped-16": (nginx.url, 16)}[
        scenario
    ]
    return [ModelSource(source=f"{origin}/one.bin", destination="s1")], {}, connections


def main() -> None:
    work = _scratch()
    nginx = Nginx(work / "nginx").start()
    log = ReadLog()
    log.install()
    try:
        if os.environ.get("TRACE_AB"):
            pairs = int(os.environ.get("TRACE_PAIRS", "10"))
            compare(nginx, work, os.environ["TRACE_AB"], os.environ.get("TRACE_ON", "s2"), pairs)
        else:
            trace(nginx, work, log)
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
