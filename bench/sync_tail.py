"""One 1 GiB file on N paced connections (40 MiB/s each, `tls_bed`'s capped port) over HTTPS:
the engine of this tree against the engine of another, alternated, each run in a process of
its own. At the cap the two differ only in how the first and last bytes of the sync are
spent (a request's answer, the tail's split), a percent or two: too little for one bench
run's noise, so a change there is measured against the code before it.

`BENCH_SYNC_BASELINE=/path/to/src` is the other tree (`bench.trees`);
`BENCH_SYNC_CONNECTIONS=8,16` the connection counts, `BENCH_SYNC_RUNS=3` the runs of each tree
per count.

Run: `python -m bench.sync_tail`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from bench.bench_sync import _scratch
from bench.tls_bed import TlsNginx
from bench.trees import Run, run_in, timed_sync, trees

MiB = 1024 * 1024
SIZE = 1024 * MiB
RUNS = int(os.environ.get("BENCH_SYNC_RUNS", "3"))
COUNTS = [int(n) for n in os.environ.get("BENCH_SYNC_CONNECTIONS", "8,16").split(",")]


def _engine_once(spec: dict[str, str]) -> None:
    from podkit.config.models import ModelSource
    from podkit.worker.transfer import SyncOptions

    entry = [ModelSource(source=spec["url"], destination="s1")]
    options = SyncOptions(fsync=False, connections=int(spec["connections"]))
    timed_sync(entry, Path(spec["dest"]), options, {"PODKIT_CA_BUNDLE": spec["ca"]})


def main() -> None:
    work = _scratch()
    nginx = TlsNginx(work / "nginx").start()
    try:
        (nginx.www / "s1.bin").write_bytes(os.urandom(SIZE))
        engines = trees()
        for count in COUNTS:
            spec = {
                "url": f"{nginx.capped_url}/s1.bin", "ca": str(nginx.ca),
                "dest": str(work / "e"), "connections": str(count),
            }  # fmt: skip
            runs: dict[str, list[Run]] = {name: [] for name in engines}
            for _ in range(RUNS):
                for name, src in engines.items():
                    runs[name].append(run_in(src, "bench.sync_tail", spec))
            print(f"1 GiB on {count} paced connections (median of {RUNS}, alternated)")
            for name, results in runs.items():
                rate = sorted(SIZE / seconds / 1e6 for seconds, _, _ in results)[RUNS // 2]
                cpu = sorted((user + system) / (SIZE / 2**30) for _, user, system in results)[
                    RUNS // 2
                ]
                print(f"   {name:36s} {rate:7.1f} MB/s  {cpu:5.2f} CPU s/GiB")
    finally:
        nginx.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        _engine_once(json.loads(sys.argv[1]))
    else:
        main()
