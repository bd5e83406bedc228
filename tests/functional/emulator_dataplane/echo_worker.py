"""A tiny `runpod` SDK worker for the data-plane tests (run as a subprocess, never imported).

ECHO_MODE=async (default) | sync | stream picks the handler kind; ECHO_EXEC_LOG names a file
that gets one line per handler start (job id), so tests can count executions.
"""

import asyncio
import os
import subprocess
import sys
import time
import types
from pathlib import Path

# py-cpuinfo spawns a fresh interpreter at `import runpod` (over a second); only the SDK's
# debugger reads it, so the test worker skips it to start faster.
sys.modules["cpuinfo"] = types.SimpleNamespace(get_cpu_info=lambda: {"brand_raw": "n/a"})

import runpod  # noqa: E402


def _record(job):
    path = os.environ.get("ECHO_EXEC_LOG")
    if path:
        with Path(path).open("a", encoding="utf-8") as log:
            log.write(job["id"] + "\n")


def _result(job):
    data = job["input"]
    if not isinstance(data, dict):
        return data
    if data.get("raise"):
        raise RuntimeError(data["raise"])
    if data.get("error"):
        return {"error": data["error"]}
    if data.get("nvidia_smi"):
        out = subprocess.run(["nvidia-smi", *data["nvidia_smi"]], capture_output=True, text=True)
        return {"stdout": out.stdout, "emulated": os.environ.get("PODKIT_EMULATED_GPU")}
    if data.get("refresh"):
        return {"refresh_worker": True, "echo": data.get("echo")}
    if data.get("env"):
        return {name: os.environ.get(name) for name in data["env"]}
    if data.get("nan"):
        return {"value": float("nan")}  # the SDK's json.dumps writes it as NaN
    return {"echo": data.get("echo"), "worker": os.environ.get("RUNPOD_POD_ID")}


async def _gate(path):
    """Hold the job until the test creates `path` (at most two minutes)."""
    for _ in range(2400):
        if Path(path).exists():
            return
        await asyncio.sleep(0.05)


async def async_handler(job):
    _record(job)
    data = job["input"]
    if isinstance(data, dict) and data.get("wait_for"):
        await _gate(data["wait_for"])
    if isinstance(data, dict) and data.get("progress"):
        runpod.serverless.progress_update(job, data["progress"])
    if isinstance(data, dict) and data.get("sleep"):
        await asyncio.sleep(float(data["sleep"]))
    return _result(job)


def sync_handler(job):
    _record(job)
    data = job["input"]
    if isinstance(data, dict) and data.get("sleep"):
        time.sleep(float(data["sleep"]))
    return _result(job)


def stream_handler(job):
    _record(job)
    for index in range(int(job["input"].get("chunks", 3))):
        time.sleep(float(job["input"].get("gap", 0)))
        yield f"chunk-{index}"


HANDLERS = {"async": async_handler, "sync": sync_handler, "stream": stream_handler}


def _concurrency(current):
    return int(os.environ.get("ECHO_CONCURRENCY", "1"))


if __name__ == "__main__":
    runpod.serverless.start(
        {
            "handler": HANDLERS[os.environ.get("ECHO_MODE", "async")],
            "concurrency_modifier": _concurrency,
        }
    )
