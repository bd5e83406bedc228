"""The engine of this source tree beside another's, on one bed: each run in a process of its
own whose `PYTHONPATH` names the tree, alternated, so a change is measured against the code
before it where a percent or two is less than one bench run's noise.

`BENCH_SYNC_BASELINE=/path/to/src` is the other tree (e.g. `git archive <rev> src | tar -x -C
/tmp/base`, then `/tmp/base/src`); without it only this tree runs.
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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podkit.config.models import ModelSource
    from podkit.worker.transfer import SyncOptions

BASELINE = os.environ.get("BENCH_SYNC_BASELINE", "")
HERE = Path(__file__).resolve().parents[1]
Run = tuple[float, float, float]  # wall seconds, user CPU seconds, system CPU seconds


def trees() -> dict[str, Path]:
    """The trees to run, by name: the baseline's first where one is given, then this one's."""
    mine = {"engine (this tree)": HERE / "src"}
    return {f"engine ({BASELINE})": Path(BASELINE), **mine} if BASELINE else mine


def run_in(src: Path, module: str, spec: dict[str, str]) -> Run:
    """`python -m module '<spec as JSON>'` with the podkit of `src`: its `timed_sync` run."""
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{HERE}"}
    argv = [sys.executable, "-m", module, json.dumps(spec)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, env=env, cwd=HERE)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["podkit"].startswith(str(src)):
        raise SystemExit(f"the engine came from {result['podkit']}, not from {src}")
    seconds, user, system = result["run"]
    return seconds, user, system


def timed_sync(
    entries: list[ModelSource], dest: Path, options: SyncOptions, env: dict[str, str]
) -> None:
    """In the child `run_in` starts: one untimed sync (imports, the CA store), then one timed
    into an empty `dest`; prints what `run_in` reads back."""
    import podkit
    from podkit.worker.transfer import sync_models

    for _ in range(2):
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        report = sync_models(entries, dest, options=options, env=env)
        seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
        if report.status != "ok":
            raise SystemExit(f"engine run failed: {report.message}")
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    print(json.dumps({"run": [seconds, user, system], "podkit": podkit.__file__}))
