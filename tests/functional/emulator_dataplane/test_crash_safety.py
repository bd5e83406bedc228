"""`kill -9` of the emulator at random moments loses no job and runs no completed job again.

The emulator runs as `podkit emulator start` in its own process on one `--state-dir`; a
submitter thread keeps posting tiny jobs while the test kills the process at ten seeded
moments and starts it again. The echo worker appends each job id to a file when it starts the
job, so every execution is counted. A job may run again only if the emulator requeued it
(a job running at a crash is queued again and says so in `retries`).
"""

from __future__ import annotations

import collections
import json
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.functional.emulator_dataplane.harness import ECHO_WORKER, wait_until

JOBS = 500
KILLS = 10
SEED = 15
HEADERS = {"Authorization": "Bearer crash-key"}
CLI = [sys.executable, "-m", "podkit"]


class Emulator:
    """`podkit emulator start` in a child process; `kill()` is a SIGKILL, `start()` a restart."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> str:
        options = ["--port", "0", "--json", "--state-dir", str(self.state_dir)]
        worker = ["--worker-command", f"{sys.executable} {ECHO_WORKER}"]
        self.process = subprocess.Popen(
            [*CLI, "emulator", "start", *options, *worker],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None
        text = ""  # the --json announcement (indented), printed once it listens
        while not text.endswith("}\n"):
            line = self.process.stdout.readline().decode()
            assert line, "podkit emulator start ended before it listened"
            text += line
        self.url = json.loads(text)["url"]
        return self.url

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(20)


class Submitter(threading.Thread):
    """Posts jobs until `JOBS` are acknowledged; a request lost to a crash is posted again."""

    def __init__(self, emulator: Emulator, endpoint_id: str) -> None:
        super().__init__(daemon=True)
        self.emulator = emulator
        self.endpoint_id = endpoint_id
        self.acked: list[str] = []
        self.deadline = time.monotonic() + 240

    def run(self) -> None:
        while len(self.acked) < JOBS and time.monotonic() < self.deadline:
            try:
                with httpx.Client(base_url=self.emulator.url, headers=HEADERS, timeout=5) as api:
                    while len(self.acked) < JOBS:
                        body = {"input": {"echo": len(self.acked)}}
                        reply = api.post(f"/v2/{self.endpoint_id}/run", json=body)
                        self.acked.append(reply.raise_for_status().json()["id"])
            except httpx.HTTPError:
                time.sleep(0.05)  # the emulator is down; it comes back on a new port


def _endpoint(url: str, exec_log: Path) -> str:
    with httpx.Client(base_url=url, headers=HEADERS, timeout=30) as api:
        env = {"ECHO_EXEC_LOG": str(exec_log), "ECHO_CONCURRENCY": "4"}
        template = api.post(
            "/v1/templates",
            json={"name": "crash", "imageName": "acme/echo:1", "isServerless": True, "env": env},
        ).json()
        body = {"name": "crash", "templateId": template["id"], "workersMax": 3}
        endpoint_id: str = api.post("/v1/endpoints", json=body).json()["id"]
    return endpoint_id


def _statuses(url: str, endpoint_id: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    with httpx.Client(base_url=url, headers=HEADERS, timeout=30) as api:
        return {i: api.get(f"/v2/{endpoint_id}/status/{i}").json() for i in ids}


def test_kill_9_at_ten_random_moments_loses_no_job_and_repeats_no_completed_one(
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    exec_log = tmp_path / "executions.log"
    emulator = Emulator(tmp_path / "state")
    try:
        endpoint_id = _endpoint(emulator.start(), exec_log)
        submitter = Submitter(emulator, endpoint_id)
        submitter.start()
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.2, 1.5))
            emulator.kill()
            emulator.start()
        submitter.join(timeout=240)
        assert len(submitter.acked) == JOBS

        def all_final() -> dict[str, dict[str, Any]] | None:
            found = _statuses(emulator.url, endpoint_id, submitter.acked)
            done = all(b.get("status") == "COMPLETED" for b in found.values())
            return found if done else None

        try:
            final = wait_until(all_final, timeout=180, every=1.0)
        except AssertionError:
            found = _statuses(emulator.url, endpoint_id, submitter.acked)
            counts = collections.Counter(b.get("status") for b in found.values())
            raise AssertionError(f"not every acknowledged job completed: {counts}") from None
    finally:
        emulator.stop()
    runs = collections.Counter(exec_log.read_text().split())
    assert all(body["output"]["echo"] is not None for body in final.values())
    rerun = {i: runs[i] for i in final if runs[i] > 1 + final[i].get("retries", 0)}
    assert rerun == {}, "jobs ran again although nothing requeued them"
    assert all(runs[i] >= 1 for i in final)
