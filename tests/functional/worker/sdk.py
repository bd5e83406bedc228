"""Drive `python -m podkit.worker` through the real runpod SDK: one-shot and the local API."""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

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


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalApi:
    """A worker started with `--rp_serve_api` on 127.0.0.1; `runsync` posts one job."""

    def __init__(self, env: Mapping[str, str], *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "podkit.worker", *args, "--rp_serve_api"]
        cmd += ["--rp_api_host", "127.0.0.1", "--rp_api_port", str(self.port)]
        cmd += ["--rp_log_level", "ERROR"]
        self.proc = subprocess.Popen(
            cmd, env=dict(env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.client = httpx.Client(base_url=self.url, timeout=60)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read() if self.proc.stdout else ""
                raise RuntimeError(f"worker exited with {self.proc.returncode}:\n{out}")
            try:
                if self.client.get("/openapi.json").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.close()
        raise RuntimeError(f"worker API did not come up within {timeout} s")

    def runsync(self, job_input: Any) -> dict[str, Any]:
        """POST /runsync and return the response body."""
        response = self.client.post("/runsync", json={"input": job_input})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def close(self) -> None:
        """Stop the worker and release the client."""
        self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
