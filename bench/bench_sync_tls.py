"""Model sync over HTTPS (S1-S4 on TLS), each tool measured in the same run, with the CPU
seconds per GiB each spent (the engine: this process's user + system time; a peer: its own,
read from the kernel when it exits).

The bench makes a CA and a certificate for 127.0.0.1 signed by it; nginx serves HTTPS with it
on an uncapped port and on one capped at 40 MiB/s per connection (the kernel paces each
connection, see `tls_bed`); every client trusts the CA (`PODKIT_CA_BUNDLE`, `--cacert`,
`--ca-certificate`, `--ca-cert`). HTTP/2 is offered; the engine takes it for small files and
metadata and streams byte ranges over HTTP/1.1, aria2c speaks HTTP/1.1, curl and rclone take
what they do by default.

S1  one 1 GiB file: N = 1 on the uncapped port (one stream's CPU cost over TLS), N = 4, 8, 16
    on the capped one: engine vs aria2c -xN -sN -k1M vs rclone --multi-thread-streams N.
S2  16 x 64 MiB shards (HF mirror layout), capped: engine (budget auto, and a fixed 16) vs
    aria2c -j16 vs curl --parallel --parallel-max 16 vs rclone --transfers 16.
S3  10,000 x 16 KiB files (HF mirror), uncapped: engine on 16 connections vs
    curl --parallel --parallel-max 16 vs aria2c -j16 vs rclone --transfers 16.
S4  a no-op re-sync of those files: seconds and data requests.
S3g 2,000 x 16 KiB from fake-gcs-server behind the TLS nginx (`BENCH_SYNC_ONLY=S3G`): engine
    vs curl --parallel --parallel-max 16 vs aria2c -j16 on the objects' media URLs.

Run: `python -m bench bench_sync_tls` (`BENCH_SYNC_QUICK=1` for a short run,
`BENCH_SYNC_ONLY=S1,S2,S3` for some, `BENCH_SYNC_RUNS=N` for a median of N). Data and
destinations on tmpfs; everything on 127.0.0.1.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
from tests.functional.sync.testbed import write_hf_repo

from bench.bench_sync import AUTO, BASE, ONLY, QUICK, RUNS, MiB, _alternated, _scratch
from bench.tls_bed import TlsNginx, fake_gcs
from podkit.config.models import ModelSource
from podkit.worker.transfer import sync_models

GiB = 1024 * MiB
Tool = Callable[[], tuple[float, float]]  # one run: (seconds, CPU seconds)


def _wanted(name: str) -> bool:
    return not ONLY or name in ONLY


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _fresh(dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)


def engine(entries: list[ModelSource], dest: Path, options: object, env: dict[str, str]) -> Tool:
    def run() -> tuple[float, float]:
        _fresh(dest)
        cpu, start = _cpu_self(), time.perf_counter()
        report = sync_models(entries, dest, options=options, env=env)  # type: ignore[arg-type]
        seconds = time.perf_counter() - start
        if report.status != "ok":
            raise SystemExit(f"engine run failed: {report.message}")
        return seconds, _cpu_self() - cpu

    return run


def command(argv: list[str], dest: Path) -> Tool:
    """A peer's run: its wall seconds and the CPU seconds its process tree used."""
    if shutil.which(argv[0]) is None:
        raise SystemExit(f"{argv[0]} missing (scripts/test-deps.sh installs the peers)")

    def run() -> tuple[float, float]:
        _fresh(dest)
        cpu, start = _cpu_children(), time.perf_counter()
        subprocess.run(argv, check=True, cwd=dest, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start, _cpu_children() - cpu

    return run


def medians(tools: dict[str, Tool], runs: int = RUNS) -> dict[str, tuple[float, float]]:
    """Median seconds and median CPU seconds per tool (one untimed round, then alternated)."""
    rounds = _alternated([_keep(tool) for tool in tools.values()], runs)
    result = {}
    for (name, tool), times in zip(tools.items(), rounds, strict=True):
        cpus = sorted(_keep.cpu[id(tool)][-runs:])
        result[name] = (sorted(times)[runs // 2], cpus[runs // 2])
    return result


class _Keep:
    """Turns a Tool into the seconds-only callable `_alternated` takes, keeping its CPU."""

    def __init__(self) -> None:
        self.cpu: dict[int, list[float]] = {}

    def __call__(self, tool: Tool) -> Callable[[], float]:
        def run() -> float:
            seconds, cpu = tool()
            self.cpu.setdefault(id(tool), []).append(cpu)
            return seconds

        return run


_keep = _Keep()


def _print(title: str, size: int, result: dict[str, tuple[float, float]], unit: str) -> None:
    print(title)
    first = next(iter(result.values()))[0]
    for name, (seconds, cpu) in result.items():
        rate = size / seconds / 1e6 if unit == "MB/s" else size / seconds
        per_gib = cpu / (size / GiB) if unit == "MB/s" else cpu
        cost = f"{per_gib:.2f} CPU s/GiB" if unit == "MB/s" else f"{per_gib:.2f} CPU s"
        print(f"   {name:38s} {rate:8.0f} {unit}  {cost:16s}  engine/this {seconds / first:.2f}")


def s1(nginx: TlsNginx, work: Path) -> None:
    size = (256 if QUICK else 1024) * MiB
    (nginx.www / "s1.bin").write_bytes(os.urandom(size))
    env = {"PODKIT_CA_BUNDLE": str(nginx.ca)}
    for n in (1, 4) if QUICK else (1, 4, 8, 16):
        base = nginx.url if n == 1 else nginx.capped_url
        url = f"{base}/s1.bin"
        entry = [ModelSource(source=url, destination="s1")]
        tools = {
            f"engine {n} conn": engine(entry, work / "e", replace(BASE, connections=n), env),
            f"aria2c -x{n} -s{n} -k1M": command(
                [
                    "aria2c",
                    "-q",
                    "--file-allocation=none",
                    "--allow-overwrite=true",
                    f"--ca-certificate={nginx.ca}",
                    f"-x{n}",
                    f"-s{n}",
                    "-k1M",
                    "-o",
                    "a.bin",
                    url,
                ],
                work / "a",
            ),
            f"rclone --multi-thread-streams {n}": command(
                [
                    "rclone",
                    "copy",
                    "-q",
                    "--ca-cert",
                    str(nginx.ca),
                    "--http-url",
                    base,
                    ":http:s1.bin",
                    ".",
                    "--multi-thread-streams",
                    str(n),
                    "--multi-thread-cutoff",
                    "10M",
                ],
                work / "r",
            ),
        }
        if n == 1:
            tools["curl"] = command(
                [
                    "curl",
                    "-sS",
                    "--no-progress-meter",
                    "--cacert",
                    str(nginx.ca),
                    "-o",
                    "c.bin",
                    url,
                ],
                work / "c",
            )
        cap = "uncapped" if n == 1 else "40 MiB/s per connection"
        _print(f"S1 {size // MiB} MiB, N={n}, {cap} (median of {RUNS})", size,
               medians(tools), "MB/s")  # fmt: skip
    (nginx.www / "s1.bin").unlink()


def _curl_parallel(ca: str, config: Path, dest: Path, *extra: str) -> Tool:
    """curl fetching a -K config's URLs on 16 parallel transfers."""
    argv = ["curl", "-sS", "--no-progress-meter", "--cacert", ca, *extra]
    return command([*argv, "--parallel", "--parallel-max", "16", "-K", str(config)], dest)


def _aria2c_list(ca: str, listing: Path, dest: Path, *extra: str) -> Tool:
    """aria2c fetching a listing's URLs, 16 at a time."""
    argv = ["aria2c", "-q", "--file-allocation=none", "--allow-overwrite=true"]
    return command([*argv, f"--ca-certificate={ca}", "-j16", *extra, "-i", str(listing)], dest)


def _print_files(count: int, result: dict[str, tuple[float, float]]) -> None:
    first = next(iter(result.values()))[0]
    for name, (seconds, cpu) in result.items():
        print(f"   {name:38s} {count / seconds:8.0f} files/s  {cpu:6.2f} CPU s"
              f"  engine/this files/s {seconds / first:.2f}")  # fmt: skip


def _curl_config(path: Path, urls: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f'url = "{url}"\noutput = "{out}"\n' for url, out in urls))
    return path


def s2(nginx: TlsNginx, work: Path) -> None:
    count, each = (8, 32 * MiB) if QUICK else (16, 64 * MiB)
    files = {f"model-{i:05d}-of-{count:05d}.safetensors": os.urandom(each) for i in range(count)}
    commit = write_hf_repo(nginx.www, "bench/sharded", files)
    env = {"HF_ENDPOINT": f"{nginx.capped_url}/hf", "PODKIT_CA_BUNDLE": str(nginx.ca)}
    entry = [ModelSource(source="hf://bench/sharded", destination="s2")]
    base = f"{nginx.capped_url}/hf/bench/sharded/resolve/{commit}"
    listing = work / "s2.txt"
    listing.write_text("".join(f"{base}/{name}\n" for name in files))
    config = _curl_config(work / "s2.curl", [(f"{base}/{name}", name) for name in files])
    ca = str(nginx.ca)
    tools = {
        "engine budget auto": engine(entry, work / "g", AUTO, env),
        "engine 16 connections": engine(entry, work / "e", replace(BASE, connections=16), env),
        "aria2c -j16": _aria2c_list(ca, listing, work / "a", "-x1"),
        "curl --parallel --parallel-max 16": _curl_parallel(ca, config, work / "c"),
        "rclone --transfers 16": command(
            [
                "rclone",
                "copy",
                "-q",
                "--ca-cert",
                ca,
                "--http-url",
                base,
                ":http:",
                ".",
                "--transfers",
                "16",
                "--multi-thread-streams",
                "0",
            ],
            work / "r",
        ),
    }
    _print(f"S2 {count} x {each // MiB} MiB shards, 40 MiB/s per connection (median of {RUNS})",
           count * each, medians(tools), "MB/s")  # fmt: skip
    shutil.rmtree(nginx.www / "hf" / "bench" / "sharded")


def s3_gcs(nginx: TlsNginx, work: Path) -> None:
    """2,000 x 16 KiB from fake-gcs-server behind the TLS nginx (the JSON API's media URLs)."""
    count = 2000
    proc = fake_gcs(nginx, work)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{nginx.gcs_upstream}", timeout=60) as up:
            up.post("/storage/v1/b", json={"name": "bench"}).raise_for_status()
            for i in range(count):
                up.post("/upload/storage/v1/b/bench/o",
                        params={"uploadType": "media", "name": f"tok/f{i:05d}.json"},
                        content=os.urandom(16 * 1024)).raise_for_status()  # fmt: skip
        ca = str(nginx.ca)
        env = {"STORAGE_EMULATOR_HOST": nginx.gcs_url, "PODKIT_CA_BUNDLE": ca}
        entry = [ModelSource(source="gs://bench/tok", destination="g")]
        media = [
            (f"{nginx.gcs_url}/storage/v1/b/bench/o/tok%2Ff{i:05d}.json?alt=media", f"f{i:05d}")
            for i in range(count)
        ]
        listing = work / "gcs.txt"
        listing.write_text("".join(f"{url}\n  out={name}\n" for url, name in media))
        config = _curl_config(work / "gcs.curl", media)
        tools = {
            "engine 16 connections": engine(entry, work / "g", replace(BASE, connections=16), env),
            "curl --parallel --parallel-max 16": _curl_parallel(ca, config, work / "c"),
            "aria2c -j16": _aria2c_list(ca, listing, work / "a"),
        }
        result = medians(tools)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"S3g {count} x 16 KiB from fake-gcs-server behind TLS nginx (median of {RUNS})")
    _print_files(count, result)


def s3_s4(nginx: TlsNginx, work: Path) -> None:
    count = 2000 if QUICK else 10_000
    files = {f"tok/f{i:05d}.json": os.urandom(16 * 1024) for i in range(count)}
    commit = write_hf_repo(nginx.www, "bench/many", files)
    env = {"HF_ENDPOINT": f"{nginx.url}/hf", "PODKIT_CA_BUNDLE": str(nginx.ca)}
    entry = [ModelSource(source="hf://bench/many", destination="s3")]
    base = f"{nginx.url}/hf/bench/many/resolve/{commit}"
    listing = work / "s3.txt"
    listing.write_text("".join(f"{base}/{name}\n  out={name}\n" for name in files))
    config = _curl_config(work / "s3.curl", [(f"{base}/{name}", name) for name in files])
    ca = str(nginx.ca)
    dest = work / "hf"
    tools = {
        "engine 16 connections": engine(entry, dest, replace(BASE, connections=16), env),
        "curl --parallel --parallel-max 16": _curl_parallel(
            ca, config, work / "c", "--create-dirs"
        ),
        "aria2c -j16": _aria2c_list(ca, listing, work / "a"),
        "rclone --transfers 16": command(
            [
                "rclone",
                "copy",
                "-q",
                "--ca-cert",
                ca,
                "--http-url",
                f"{base}/tok",
                ":http:",
                ".",
                "--transfers",
                "16",
                "--checkers",
                "16",
            ],
            work / "r",
        ),
    }
    result = medians(tools)
    print(f"S3 {count} x 16 KiB from the HF mirror over HTTPS, uncapped (median of {RUNS})")
    _print_files(count, result)
    engine(entry, dest, replace(BASE, connections=16), env)()
    times, requests = [], 0
    for _ in range(RUNS):
        start = time.perf_counter()
        report = sync_models(entry, dest, options=AUTO, env=env)
        times.append(time.perf_counter() - start)
        requests = max(requests, report.data_requests)
    print(f"S4 no-op re-sync of {count} files (median of {RUNS}): {sorted(times)[RUNS // 2]:.2f} s,"
          f" {requests} data requests")  # fmt: skip


def main() -> None:
    work = _scratch()
    nginx = TlsNginx(work / "nginx").start()
    try:
        print(f"host: {os.cpu_count()} CPUs; data and destinations on {work}; HTTPS (TLS 1.3)")
        if _wanted("S1"):
            s1(nginx, work)
        if _wanted("S2"):
            s2(nginx, work)
        if _wanted("S3G"):
            s3_gcs(nginx, work)
        if _wanted("S3") or _wanted("S4"):
            s3_s4(nginx, work)
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
