"""CPU per small file over HTTPS: 16 KiB files from the HF mirror behind the TLS nginx
(`tls_bed`), the engine on 16 connections against `curl --parallel --parallel-max 16`, on
one bed, alternated. CPU is user + system seconds: the engine's from `getrusage(RUSAGE_SELF)`
around `sync_models` in a process of its own, curl's from the kernel when it exits.

`BENCH_SYNC_BASELINE=/path/to/src` also runs the engine of another source tree on the same bed
(`bench.trees`), so a change is measured against the code before it where wall-clock figures
are not reliable.

Run: `python -m bench.sync_cpu` (`BENCH_SYNC_FILES=10000`, `BENCH_SYNC_RUNS=3`).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.functional.sync.testbed import write_hf_repo

from bench.bench_sync import _scratch
from bench.tls_bed import TlsNginx
from bench.trees import Run, run_in, timed_sync, trees

FILES = int(os.environ.get("BENCH_SYNC_FILES", "10000"))
RUNS = int(os.environ.get("BENCH_SYNC_RUNS", "3"))


def _engine_once(spec: dict[str, str]) -> None:
    from podkit.config.models import ModelSource
    from podkit.worker.transfer import SyncOptions

    entry = [ModelSource(source="hf://bench/many", destination="s3")]
    env = {"HF_ENDPOINT": spec["endpoint"], "PODKIT_CA_BUNDLE": spec["ca"]}
    timed_sync(entry, Path(spec["dest"]), SyncOptions(fsync=False, connections=16), env)


def _curl(ca: Path, config: Path, dest: Path) -> Run:
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    argv = ["curl", "-sS", "--no-progress-meter", "--cacert", str(ca), "--create-dirs"]
    argv += ["--parallel", "--parallel-max", "16", "-K", str(config)]
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(argv, check=True, cwd=dest)
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def _print(name: str, runs: list[Run]) -> None:
    middle = len(runs) // 2

    def median(values: list[float]) -> float:
        return sorted(values)[middle]

    cpu = median([(u + s) / FILES * 1e6 for _, u, s in runs])
    user = median([u / FILES * 1e6 for _, u, _ in runs])
    system = median([s / FILES * 1e6 for _, _, s in runs])
    rate = median([FILES / seconds for seconds, _, _ in runs])
    print(f"   {name:36s} {cpu:5.0f} CPU us/file (user {user:4.0f}, system {system:4.0f})"
          f"  {rate:6.0f} files/s")  # fmt: skip


def main() -> None:
    work = _scratch()
    nginx = TlsNginx(work / "nginx").start()
    try:
        files = {f"tok/f{i:05d}.json": os.urandom(16 * 1024) for i in range(FILES)}
        commit = write_hf_repo(nginx.www, "bench/many", files)
        base = f"{nginx.url}/hf/bench/many/resolve/{commit}"
        config = work / "s3.curl"
        config.write_text("".join(f'url = "{base}/{name}"\noutput = "{name}"\n' for name in files))
        spec = {"dest": str(work / "e"), "endpoint": f"{nginx.url}/hf", "ca": str(nginx.ca)}
        engines = trees()
        results: dict[str, list[Run]] = {name: [] for name in [*engines, "curl --parallel 16"]}
        _curl(nginx.ca, config, work / "c")  # untimed
        for _ in range(RUNS):
            for name, src in engines.items():
                results[name].append(run_in(src, "bench.sync_cpu", spec))
            results["curl --parallel 16"].append(_curl(nginx.ca, config, work / "c"))
        print(f"{FILES} x 16 KiB from the HF mirror over HTTPS (median of {RUNS}, alternated)")
        for name, runs in results.items():
            _print(name, runs)
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        _engine_once(json.loads(sys.argv[1]))
    else:
        main()
