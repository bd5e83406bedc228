"""Run podkit's worker on this machine under the runpod SDK's local API (`--rp_serve_api`).

For demos, benchmarks and tests: a real worker process on 127.0.0.1, driven over HTTP with
`POST /runsync`, exactly as the SDK serves it. Needs the `worker` extra (the runpod SDK).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from podkit.errors import WorkerActionError


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def offline_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment minus RunPod job URLs, plus what an offline worker needs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNPOD_WEBHOOK_")}
    env.update(RUNPOD_SKIP_AUTO_SYSTEM_CHECKS="true", PYTHONUNBUFFERED="1")
    env.update(extra or {})
    return env


class LocalWorker:
    """`python -m podkit.worker --rp_serve_api` on 127.0.0.1; `runsync(input)` runs one job."""

    def __init__(self, env: Mapping[str, str], *args: str, ready_timeout: float = 60.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "podkit.worker", *args, "--rp_serve_api"]
        cmd += ["--rp_api_host", "127.0.0.1", "--rp_api_port", str(self.port)]
        cmd += ["--rp_log_level", "ERROR"]
        # A file, not a pipe: uvicorn logs every request, and a full pipe would stall the worker.
        self._log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115 (closed by close())
        self.proc = subprocess.Popen(
            cmd, env=dict(env), stdout=self._log, stderr=subprocess.STDOUT, text=True
        )
        self.client = httpx.Client(base_url=self.url, timeout=120)
        try:
            self._wait_ready(ready_timeout)
        except BaseException:
            self.close()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise WorkerActionError(
                    f"the local worker exited with status {self.proc.returncode}: "
                    f"{self.log()[-2000:]}"
                )
            try:
                if self.client.get("/openapi.json").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise WorkerActionError(f"the local worker did not answer within {timeout:.0f} s")

    def runsync(self, job_input: Any) -> dict[str, Any]:
        """POST /runsync with `{"input": job_input}`; the SDK's response body."""
        response = self.client.post("/runsync", json={"input": job_input})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def log(self) -> str:
        """Everything the worker process has written so far (stdout and stderr)."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def close(self) -> None:
        """Stop the worker process and the HTTP client."""
        self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> LocalWorker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
