"""CPU per small file over HTTPS: 16 KiB files from the HF mirror behind the TLS nginx
(`tls_bed`), the engine on 16 connections against `curl --parallel --parallel-max 16`, on
one bed, alternated. CPU is user + system seconds: the engine's from `getrusage(RUSAGE_SELF)`
around `sync_models` in a process of its own, curl's from the kernel when it exits.

`BENCH_SYNC_BASELINE=/path/to/src` also runs the engine of another source tree (e.g.
`git archive <rev> src | tar -x -C /tmp/base`, then `/tmp/base/src`) on the same bed, so a
change is measured against the code before it where wall-clock figures are not reliable.

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

FILES = int(os.environ.get("BENCH_SYNC_FILES", "10000"))
RUNS = int(os.environ.get("BENCH_SYNC_RUNS", "3"))
BASELINE = os.environ.get("BENCH_SYNC_BASELINE", "")
HERE = Path(__file__).resolve().parents[1]
Run = tuple[float, float, float]  # wall seconds, user CPU seconds, system CPU seconds


def _engine_once(spec: dict[str, str]) -> None:
    """In a child process: one untimed sync, then one timed; prints the timed one."""
    from podkit.config.models import ModelSource
    from podkit.worker.transfer import SyncOptions, sync_models

    dest = Path(spec["dest"])
    entry = [ModelSource(source="hf://bench/many", destination="s3")]
    env = {"HF_ENDPOINT": spec["endpoint"], "PODKIT_CA_BUNDLE": spec["ca"]}
    options = SyncOptions(fsync=False, connections=16)
    for _ in range(2):  # the first warms up (imports, the CA store)
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        report = sync_models(entry, dest, options=options, env=env)
        seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
        if report.status != "ok":
            raise SystemExit(f"engine run failed: {report.message}")
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    import podkit

    print(json.dumps({"run": [seconds, user, system], "podkit": podkit.__file__}))


def _engine(src: Path, spec: dict[str, str]) -> Run:
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{HERE}"}
    argv = [sys.executable, "-m", "bench.sync_cpu", json.dumps(spec)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, env=env, cwd=HERE)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["podkit"].startswith(str(src)):
        raise SystemExit(f"the engine came from {result['podkit']}, not from {src}")
    seconds, user, system = result["run"]
    return seconds, user, system


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
        trees = {"engine (this tree)": HERE / "src"}
        if BASELINE:
            trees = {f"engine ({BASELINE})": Path(BASELINE), **trees}
        results: dict[str, list[Run]] = {name: [] for name in [*trees, "curl --parallel 16"]}
        _curl(nginx.ca, config, work / "c")  # untimed
        for _ in range(RUNS):
            for name, src in trees.items():
                results[name].append(_engine(src, spec))
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
