"""`--worker-command 'python handler.py'` as the README shows it: relative paths resolve in the
directory the emulator starts in, or in `--worker-cwd`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from podkit.emulator.server import LocalRunPod
from tests.functional.emulator_dataplane.harness import ECHO_WORKER

HEADERS = {"Authorization": "Bearer handler-key"}


def _project(tmp_path: Path) -> Path:
    """A user's directory holding their SDK worker as `handler.py`."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ECHO_WORKER, project / "handler.py")
    return project


def _runsync(url: str) -> dict[str, object]:
    with httpx.Client(base_url=url, headers=HEADERS, timeout=90) as api:
        template = api.post(
            "/v1/templates", json={"name": "h", "imageName": "acme/h:1", "isServerless": True}
        ).json()
        body = {"name": "h", "templateId": template["id"], "workersMax": 1}
        endpoint_id = api.post("/v1/endpoints", json=body).json()["id"]
        reply: dict[str, object] = api.post(
            f"/v2/{endpoint_id}/runsync", json={"input": {"echo": "from handler.py"}}
        ).json()
        # runsync answers IN_QUEUE when its wait ends before a cold worker is up: follow the job.
        deadline = time.monotonic() + 90
        while reply["status"] in ("IN_QUEUE", "IN_PROGRESS") and time.monotonic() < deadline:
            time.sleep(0.2)
            reply = api.get(f"/v2/{endpoint_id}/status/{reply['id']}").json()
    return reply


def test_python_handler_py_runs_from_the_directory_the_emulator_starts_in(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path)
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    command = ["emulator", "start", "--port", "0", "--json"]
    emulator = subprocess.Popen(
        [sys.executable, "-m", "podkit", *command, "--worker-command", "python handler.py"],
        cwd=project,
        env={**os.environ, "PATH": path},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        text = ""
        while not text.endswith("}\n"):
            line = emulator.stdout.readline()
            assert line, "podkit emulator start ended before it listened"
            text += line
        reply = _runsync(json.loads(text)["url"])
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(30)
    assert reply["status"] == "COMPLETED"
    assert reply["output"] == {"echo": "from handler.py", "worker": reply["workerId"]}


def test_worker_cwd_names_where_relative_paths_resolve(tmp_path: Path) -> None:
    project = _project(tmp_path)
    with LocalRunPod(worker_command=[sys.executable, "handler.py"], worker_cwd=project) as rp:
        reply = _runsync(rp.url)
    assert reply["status"] == "COMPLETED"
