"""Drive `python -m podkit.worker` through the real runpod SDK: one-shot and the local API."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podkit.worker.local import LocalWorker

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FAKE_SMI_DIR = FIXTURES / "nvidia_smi"


def worker_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for an offline worker: no fitness checks, no user config, no job URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNPOD_", "PODKIT_"))}
    env.update(
        HOME=str(home),
        RUNPOD_SKIP_AUTO_SYSTEM_CHECKS="true",
        PODKIT_SKIP_CPUINFO="true",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


@dataclass
class OneShot:
    """The outcome of `--test_input`: exit code, the handler's return, and the whole log."""

    returncode: int
    result: dict[str, Any] | None
    log: str


def run_test_input(
    job_input: Any, env: Mapping[str, str], *args: str, cwd: Path | None = None
) -> OneShot:
    """`python -m podkit.worker --test_input '{"input": job_input}'` in a subprocess."""
    import json

    cmd = [sys.executable, "-m", "podkit.worker", *args]
    cmd += ["--test_input", json.dumps({"input": job_input})]
    proc = subprocess.run(
        cmd, env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    log = proc.stdout + proc.stderr
    result = None
    for line in log.splitlines():
        if "run_job return: " in line:
            result = ast.literal_eval(line.split("run_job return: ", 1)[1])
    return OneShot(proc.returncode, result, log)


LocalApi = LocalWorker
