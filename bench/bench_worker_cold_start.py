"""Worker cold start: process start to first job result, podkit's worker vs a bare handler.

Both run the real runpod SDK in one-shot mode (`--test_input`), the way a worker process
starts and answers its first job. Then `python -X importtime` shows where the time goes and
podkit's own share of it.

    .venv/bin/python -m bench bench_worker_cold_start
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 5
BARE_HANDLER = """\
import runpod

async def handler(job):
    return {"ok": True}

if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
"""
PODKIT_DEPS = ("pydantic", "pydantic_core", "annotated_types", "typing_inspection")


def _env(volume: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "PODKIT_"))}
    env.update(RUNPOD_SKIP_AUTO_SYSTEM_CHECKS="true", PODKIT_VOLUME_DIR=str(volume), **extra)
    return env


def _run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def _interleaved(*cmds: tuple[list[str], dict[str, str]], runs: int = RUNS) -> list[float]:
    """Median time of each command, runs interleaved so load drift hits all of them alike."""
    times: list[list[float]] = [[] for _ in cmds]
    for _ in range(runs):
        for i, (cmd, env) in enumerate(cmds):
            times[i].append(_run(cmd, env))
    return [statistics.median(t) for t in times]


def import_breakdown(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Self import time (ms) summed by group, from `python -X importtime`."""
    proc = subprocess.run(
        [cmd[0], "-X", "importtime", *cmd[1:]], env=env, capture_output=True, text=True, check=True
    )
    groups = {"total": 0.0, "podkit": 0.0, "pydantic (podkit's dep)": 0.0, "runpod": 0.0}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cum, name = (part.strip() for part in line[len("import time:") :].split("|"))
        ms, top = int(self_us) / 1000, name.split(".")[0]
        groups["total"] += ms
        if top == "podkit":
            groups["podkit"] += ms
        elif top in PODKIT_DEPS:
            groups["pydantic (podkit's dep)"] += ms
        elif top == "runpod":
            groups["runpod"] += ms
    return groups


def main() -> None:
    """Print medians of RUNS cold starts and the import-time breakdown."""
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        volume = Path(tmp) / "volume"
        volume.mkdir()
        bare = Path(tmp) / "bare_handler.py"
        bare.write_text(BARE_HANDLER)
        job = json.dumps({"input": {"action": "disk_usage"}})
        podkit_cmd = [py, "-m", "podkit.worker", "--test_input", job]
        bare_cmd = [py, str(bare), "--test_input", json.dumps({"input": {}})]
        t_bare, t_podkit, t_probe = _interleaved(
            (bare_cmd, _env(volume)),
            (podkit_cmd, _env(volume)),
            (podkit_cmd, _env(volume, PODKIT_SKIP_CPUINFO="false")),
        )
        print(f"cold start to first result, median of {RUNS} (s):")
        rows = (
            ("bare runpod handler", t_bare),
            ("podkit worker (default)", t_podkit),
            ("podkit, PODKIT_SKIP_CPUINFO=false", t_probe),
        )
        for label, seconds in rows:
            print(f"  {label:34s} {seconds:6.3f}  ratio {seconds / t_bare:.2f}x")
        groups = import_breakdown(podkit_cmd, _env(volume))
        print("import time of the podkit worker (self time summed, ms):")
        for name, ms in groups.items():
            print(f"  {name:26s} {ms:8.1f}")
        own = groups["podkit"] / (t_podkit * 1000)
        with_deps = (groups["podkit"] + groups["pydantic (podkit's dep)"]) / (t_podkit * 1000)
        print(f"podkit's own share of the cold start: {own:.1%} ({with_deps:.1%} with pydantic)")
        stub = "import sys, types; sys.modules['cpuinfo'] = types.ModuleType('cpuinfo'); "
        stub += "sys.modules['cpuinfo'].get_cpu_info = lambda: {}; import runpod"
        t_sdk, t_both = _interleaved(
            ([py, "-c", stub], _env(volume)),
            ([py, "-c", stub + "; import podkit.worker.actions"], _env(volume)),
            runs=3 * RUNS,
        )
        marginal = t_both - t_sdk
        print(
            f"marginal cost of importing podkit's worker after the SDK: {marginal * 1000:.0f} ms "
            f"= {marginal / t_podkit:.1%} of the cold start"
        )


if __name__ == "__main__":
    main()
