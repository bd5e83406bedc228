"""One 1 GiB file on N paced connections (40 MiB/s each, `tls_bed`'s capped port) over HTTPS:
the engine of this tree against the engine of another, alternated, each run in a process of
its own. At the cap the two differ only in how the first and last bytes of the sync are
spent (a request's answer, the tail's split), a percent or two: too little for one bench
run's noise, so a change there is measured against the code before it.

`BENCH_SYNC_BASELINE=/path/to/src` is the other tree (e.g. `git archive <rev> src | tar -x -C
/tmp/base`, then `/tmp/base/src`); without it only this tree runs. `BENCH_SYNC_CONNECTIONS=8,16`
the connection counts, `BENCH_SYNC_RUNS=3` the runs of each tree per count.

Run: `python -m bench.sync_tail`.
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

from bench.bench_sync import _scratch
from bench.tls_bed import TlsNginx

MiB = 1024 * 1024
SIZE = 1024 * MiB
RUNS = int(os.environ.get("BENCH_SYNC_RUNS", "3"))
COUNTS = [int(n) for n in os.environ.get("BENCH_SYNC_CONNECTIONS", "8,16").split(",")]
BASELINE = os.environ.get("BENCH_SYNC_BASELINE", "")
HERE = Path(__file__).resolve().parents[1]


def _engine_once(spec: dict[str, str]) -> None:
    """In a child process: one untimed sync, then one timed; prints its seconds and CPU."""
    from podkit.config.models import ModelSource
    from podkit.worker.transfer import SyncOptions, sync_models

    dest = Path(spec["dest"])
    entry = [ModelSource(source=spec["url"], destination="s1")]
    options = SyncOptions(fsync=False, connections=int(spec["connections"]))
    for _ in range(2):  # the first warms up (imports, the CA store)
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        report = sync_models(entry, dest, options=options, env={"PODKIT_CA_BUNDLE": spec["ca"]})
        seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
        if report.status != "ok":
            raise SystemExit(f"engine run failed: {report.message}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    import podkit

    print(json.dumps({"run": [seconds, cpu], "podkit": podkit.__file__}))


def _engine(src: Path, spec: dict[str, str]) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{HERE}"}
    argv = [sys.executable, "-m", "bench.sync_tail", json.dumps(spec)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, env=env, cwd=HERE)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["podkit"].startswith(str(src)):
        raise SystemExit(f"the engine came from {result['podkit']}, not from {src}")
    seconds, cpu = result["run"]
    return seconds, cpu


def main() -> None:
    work = _scratch()
    nginx = TlsNginx(work / "nginx").start()
    try:
        (nginx.www / "s1.bin").write_bytes(os.urandom(SIZE))
        trees = {"engine (this tree)": HERE / "src"}
        if BASELINE:
            trees = {f"engine ({BASELINE})": Path(BASELINE), **trees}
        for count in COUNTS:
            spec = {
                "url": f"{nginx.capped_url}/s1.bin", "ca": str(nginx.ca),
                "dest": str(work / "e"), "connections": str(count),
            }  # fmt: skip
            runs: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
            for _ in range(RUNS):
                for name, src in trees.items():
                    runs[name].append(_engine(src, spec))
            print(f"1 GiB on {count} paced connections (median of {RUNS}, alternated)")
            for name, results in runs.items():
                rate = sorted(SIZE / seconds / 1e6 for seconds, _ in results)[RUNS // 2]
                cpu = sorted(cpu / (SIZE / 2**30) for _, cpu in results)[RUNS // 2]
                print(f"   {name:36s} {rate:7.1f} MB/s  {cpu:5.2f} CPU s/GiB")
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        _engine_once(json.loads(sys.argv[1]))
    else:
        main()
