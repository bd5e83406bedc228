"""Model sync benchmarks S1-S4, each with its peers measured in the same run.

S1  one 1 GiB file from nginx capped at 40 MiB/s per connection (the kernel paces each
    connection on the throttled port, see `tls_bed`), N = 1, 4, 8, 16, 32
    connections: the engine vs aria2c -xN -sN (aria2c stops at 16), against the ideal
    min(N x cap, CPU ceiling); the ceiling is the engine's best on the uncapped port.
S1+ one 300 MiB file on 16 connections: its 16 MiB chunks are not a multiple of them, so
    connections would idle at the end unless a tool splits the last chunks (aria2c -x16
    -s16 cuts the file into 16 parts at the start).
S2  16 x 64 MiB shards from the capped port (HF mirror layout): the engine as users run it
    (connection budget auto: from 16, grown while the rate follows) and on a fixed 16
    connections, vs aria2c -j16 (one connection per file) and, for scale, aria2c -j16 -x2
    (two per file). `BENCH_SYNC_S2_SELF=1` runs aria2c against itself instead,
    which shows how far apart two equal clients land on this bed.
S2+ the same with 20 shards: 4 streams are left for the end, the other 12 connections idle
    unless a tool splits them (the engine does; aria2c -j16 -x1 does not).
S3  small files (16 KiB): 2,000 objects from fake-gcs-server, engine vs google-cloud-storage
    transfer_manager.download_many_to_path with the same worker count; then 10,000 files
    from the HF mirror for the engine's own files/s, on 16 connections and on budget auto.
S4  a no-op re-sync of those 10,000 files: seconds and data requests.

Everything binds 127.0.0.1; data and destinations live on tmpfs (/dev/shm) because the disk
here is too noisy to compare tools. Run: `make bench` or `python -m bench bench_sync`
(`BENCH_SYNC_QUICK=1` for a short smoke run; `BENCH_SYNC_ONLY=S2,S3` runs only those
scenarios, S4 coming with the HF part of S3; `BENCH_SYNC_RUNS=5` for a median of 5). In S2 and
S3 each tool first runs once untimed (a tool's first run in a fresh scratch tree is the slowest:
new tmpfs pages), then the tools alternate their order from one round of runs to the next.
S1 and S3 run the engine on the same connection count as the peer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from tests.functional.sync.testbed import FakeGcs, Nginx, write_hf_repo

from bench.tls_bed import pacing
from podkit.config.models import ModelSource
from podkit.worker.transfer import SyncOptions, sync_models
from podkit.worker.transfer.scaling import AUTO_LIMIT, AUTO_START

MiB = 1024 * 1024
CAP = 40 * MiB  # per connection on the throttled port (tls_bed.pacing)
QUICK = os.environ.get("BENCH_SYNC_QUICK") == "1"
ONLY = {s.strip().upper() for s in os.environ.get("BENCH_SYNC_ONLY", "").split(",") if s.strip()}
RUNS = int(os.environ.get("BENCH_SYNC_RUNS", "3"))
S2_SELF = os.environ.get("BENCH_SYNC_S2_SELF") == "1"
BASE = SyncOptions(fsync=False)
AUTO = replace(BASE, connections=AUTO_START, grow_to=AUTO_LIMIT)  # as users run it


def _wanted(name: str) -> bool:
    return not ONLY or name in ONLY


def _scratch() -> Path:
    root = "/dev/shm" if Path("/dev/shm").is_dir() else None
    return Path(tempfile.mkdtemp(prefix="podkit-bench-sync-", dir=root))


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _interleaved(*tools: Callable[[], float], runs: int = RUNS) -> list[float]:
    """Median seconds of each tool over `runs` runs, after one untimed run of each.

    The runs alternate the order of the tools (ABBA...): on this bed the first of a
    back-to-back pair is the slower one (aria2c against itself: 0.83-1.11, median 0.89, when it
    always went first), so a fixed order would hand that to one tool.
    """
    return [sorted(times)[runs // 2] for times in _alternated(tools, runs)]


def _alternated(tools: Sequence[Callable[[], float]], runs: int) -> list[list[float]]:
    """Each tool's seconds over `runs` rounds, after one untimed round, alternating the order."""
    for tool in tools:
        tool()
    times: list[list[float]] = [[] for _ in tools]
    for run in range(runs):
        order = range(len(tools))[:: -1 if run % 2 else 1]  # forward, then backward
        for index in order:
            times[index].append(tools[index]())
    return times


def _engine(
    entries: list[ModelSource],
    dest: Path,
    options: SyncOptions,
    env: dict[str, str],
    budgets: list[int] | None = None,
) -> float:
    """Seconds of one engine run; the connection budget it ended with goes to `budgets`."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    start = time.perf_counter()
    report = sync_models(entries, dest, options=options, env=env)
    seconds = time.perf_counter() - start
    if report.status != "ok":
        raise SystemExit(f"engine run failed: {report.message}")
    if budgets is not None:
        budgets.append(report.connections)
    return seconds


def _ended(budgets: list[int]) -> str:
    """The budgets automatic runs ended with, e.g. "24/36"."""
    return "/".join(str(b) for b in sorted(set(budgets)))


def _aria2(args: list[str], dest: Path) -> float:
    binary = shutil.which("aria2c")
    if binary is None:
        raise SystemExit("aria2c missing: scripts/test-deps.sh installs it (Debian aria2)")
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    cmd = [binary, "-q", "--file-allocation=none", "--allow-overwrite=true", "-d", str(dest), *args]
    return _timed(lambda: subprocess.run(cmd, check=True))


def s1(nginx: Nginx, work: Path) -> None:
    size = (256 if QUICK else 1024) * MiB
    (nginx.www / "s1.bin").write_bytes(os.urandom(size))
    entry = [ModelSource(source=f"{nginx.url}/s1.bin", destination="s1")]
    ceiling = max(
        size / _engine(entry, work / "e", replace(BASE, connections=n), {}) for n in (8, 16, 32)
    )
    capped = [ModelSource(source=f"{nginx.throttled_url}/s1.bin", destination="s1")]
    print(f"S1 1 file {size // MiB} MiB, 40 MiB/s per connection")
    print(f"   CPU ceiling (engine, uncapped port, best of 8/16/32): {ceiling / 1e6:.0f} MB/s")
    print("   N  ideal MB/s  engine MB/s  aria2c MB/s  engine/ideal  engine/aria2c")
    for n in (1, 4, 8) if QUICK else (1, 4, 8, 16, 32):
        ideal = min(n * CAP, ceiling)
        eng = size / _engine(capped, work / "e", replace(BASE, connections=n), {})
        x = min(n, 16)
        url = f"{nginx.throttled_url}/s1.bin"
        ari = size / _aria2([f"-x{x}", f"-s{x}", "-k1M", "-o", "a.bin", url], work / "a")
        print(
            f"  {n:2d}  {ideal / 1e6:10.0f}  {eng / 1e6:11.0f}  {ari / 1e6:11.0f}"
            f"  {eng / ideal:12.2f}  {eng / ari:13.2f}{'  (aria2c -x16 max)' if n > 16 else ''}"
        )
    (nginx.www / "s1.bin").unlink()


def s1_odd(nginx: Nginx, work: Path) -> None:
    """S1+: 300 MiB on 16 connections, 18.75 chunks of 16 MiB: after the first 16, three run
    on while 13 connections would idle (the engine splits them; aria2c cuts the file into 16
    equal parts from the start)."""
    size = 300 * MiB
    (nginx.www / "odd.bin").write_bytes(os.urandom(size))
    url = f"{nginx.throttled_url}/odd.bin"
    entry = [ModelSource(source=url, destination="s1")]
    options = replace(BASE, connections=16)
    eng, ari = _interleaved(
        lambda: _engine(entry, work / "e", options, {}),
        lambda: _aria2(["-x16", "-s16", "-k1M", "-o", "a.bin", url], work / "a"),
    )
    (nginx.www / "odd.bin").unlink()
    print(f"S1+ 1 file 300 MiB, 40 MiB/s per connection, 16 connections (median of {RUNS})")
    print(f"   engine {size / eng / 1e6:.0f} MB/s  aria2c -x16 {size / ari / 1e6:.0f} MB/s"
          f"  ideal {16 * CAP / 1e6:.0f} MB/s  engine/aria2c {ari / eng:.2f}")  # fmt: skip


def s2(nginx: Nginx, work: Path, count: int = 16, name: str = "S2") -> None:
    """`count` x 64 MiB shards: the engine as users run it (budget auto) and on a fixed 16
    connections, against aria2c -j16. S2+ (20 shards) leaves 4 streams for the end, where the
    engine splits the slowest streams for the idle connections."""
    count, each = (count // 2, 32 * MiB) if QUICK else (count, 64 * MiB)
    files = {f"model-{i:05d}-of-{count:05d}.safetensors": os.urandom(each) for i in range(count)}
    commit = write_hf_repo(nginx.www, f"bench/sharded-{count}", files)
    env = {"HF_ENDPOINT": f"{nginx.throttled_url}/hf"}
    entry = [ModelSource(source=f"hf://bench/sharded-{count}", destination="s2")]
    listing = work / "aria2-s2.txt"
    base = f"{nginx.throttled_url}/hf/bench/sharded-{count}/resolve/{commit}"
    listing.write_text("".join(f"{base}/{name}\n" for name in files))
    aria2c = ["-j16", "-x1", "-i", str(listing)]
    total = count * each
    print(f"{name} {count} x {each // MiB} MiB shards, cap 40 MiB/s/conn (median of {RUNS})")
    if S2_SELF:
        first, second = _interleaved(
            lambda: _aria2(aria2c, work / "e"), lambda: _aria2(aria2c, work / "a")
        )
        print(f"   aria2c -j16 {total / first / 1e6:.0f} MB/s  aria2c -j16 (again) "
              f"{total / second / 1e6:.0f} MB/s  ratio {second / first:.2f}")  # fmt: skip
    else:
        budgets: list[int] = []
        fixed = replace(BASE, connections=16)
        wider = ["-j16", "-x2", "-s2", "-k8M", "-i", str(listing)]
        grown, eng, ari, ari2 = (
            total / seconds / 1e6
            for seconds in _interleaved(
                lambda: _engine(entry, work / "g", AUTO, env, budgets),
                lambda: _engine(entry, work / "e", fixed, env),
                lambda: _aria2(aria2c, work / "a"),
                lambda: _aria2(wider, work / "a"),
            )
        )
        print(f"   engine, budget auto (ended at {_ended(budgets)}) {grown:.0f} MB/s  "
              f"engine, 16 connections {eng:.0f} MB/s")  # fmt: skip
        pairs = 2 * min(count, 16)
        print(f"   aria2c -j16 {ari:.0f} MB/s  "
              f"aria2c -j16 -x2 -s2 ({pairs} connections) {ari2:.0f} MB/s")  # fmt: skip
        print(f"   engine/aria2c -j16: auto {grown / ari:.2f}, 16 connections {eng / ari:.2f};"
              f"  auto/aria2c -x2 {grown / ari2:.2f}")  # fmt: skip
    shutil.rmtree(nginx.www / "hf" / "bench" / f"sharded-{count}")


def s3_gcs(work: Path) -> None:
    count = 500 if QUICK else 2000
    fgcs = FakeGcs(work / "fgcs").start()
    try:
        fgcs.bucket("bench")
        names = [f"small/f{i:05d}.bin" for i in range(count)]
        fgcs.put_many("bench", ((name, os.urandom(16 * 1024)) for name in names))
        env = {"STORAGE_EMULATOR_HOST": fgcs.url}
        entry = [ModelSource(source="gs://bench/small", destination="s3")]
        options = replace(BASE, connections=16)
        eng, tm = _interleaved(
            lambda: _engine(entry, work / "e", options, env),
            lambda: _transfer_manager(fgcs.url, names, work / "tm", workers=16),
        )
        print(f"S3 {count} x 16 KiB from fake-gcs-server, 16 workers (median of {RUNS})")
        print(f"   engine {count / eng:.0f} files/s  transfer_manager (process x16) "
              f"{count / tm:.0f} files/s  engine/transfer_manager {tm / eng:.2f}")  # fmt: skip
    finally:
        fgcs.stop()


def _transfer_manager(url: str, names: list[str], dest: Path, *, workers: int) -> float:
    code = f"""
import os, sys, time
os.environ["STORAGE_EMULATOR_HOST"] = {url!r}
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.cloud.storage import transfer_manager
names = sys.stdin.read().split()
client = storage.Client(project="bench", credentials=AnonymousCredentials())
bucket = client.bucket("bench")
start = time.perf_counter()
transfer_manager.download_many_to_path(bucket, names, destination_directory={str(dest)!r},
    max_workers={workers}, worker_type="process", raise_exception=True)
print(time.perf_counter() - start)
"""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    out = subprocess.run(
        [sys.executable, "-c", code],
        input="\n".join(names),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def s3_s4_hf(nginx: Nginx, work: Path) -> None:
    count = 2000 if QUICK else 10_000
    files = {f"tok/f{i:05d}.json": os.urandom(16 * 1024) for i in range(count)}
    write_hf_repo(nginx.www, "bench/many", files)
    env = {"HF_ENDPOINT": f"{nginx.url}/hf"}
    entry = [ModelSource(source="hf://bench/many", destination="s3")]
    dest = work / "hf"
    budgets: list[int] = []
    fixed, grown = _interleaved(
        lambda: _engine(entry, dest, replace(BASE, connections=16), env),
        lambda: _engine(entry, dest, AUTO, env, budgets),
    )
    start = time.perf_counter()
    report = sync_models(entry, dest, options=AUTO, env=env)
    noop = time.perf_counter() - start
    print(f"S3 {count} x 16 KiB from the HF mirror (nginx), median of {RUNS}: 16 connections "
          f"{count / fixed:.0f} files/s, budget auto (ended at {_ended(budgets)}) "
          f"{count / grown:.0f} files/s")  # fmt: skip
    print(f"S4 no-op re-sync of {count} files: {noop:.2f} s, {report.data_requests} data requests, "
          f"{report.meta_requests} listing requests")  # fmt: skip


def main() -> None:
    work = _scratch()
    nginx = Nginx(work / "nginx", limit_rate="0")  # no cap per request: the kernel's per connection
    nginx.env = pacing(work, nginx.ports.throttled)
    nginx.start()
    try:
        print(f"host: {os.cpu_count()} CPUs; data and destinations on {work}")
        if _wanted("S1"):
            s1(nginx, work)
        if _wanted("S1+") and not QUICK:
            s1_odd(nginx, work)
        if _wanted("S2"):
            s2(nginx, work)
        if _wanted("S2+") and not S2_SELF:
            s2(nginx, work, count=20, name="S2+")
        if _wanted("S3"):
            s3_gcs(work)
        if _wanted("S3") or _wanted("S4"):
            s3_s4_hf(nginx, work)
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
