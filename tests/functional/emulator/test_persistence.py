"""State survives a restart with --state-dir: in process and through the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from podkit.emulator.server import LocalRunPod
from podkit.worker.local import free_port

KEY = {"Authorization": "Bearer persist-key"}


def test_state_survives_restart_in_process(tmp_path: Path) -> None:
    with (
        LocalRunPod(state_dir=tmp_path) as first,
        httpx.Client(base_url=first.url, headers=KEY) as api,
    ):
        vol = api.post(
            "/v1/networkvolumes", json={"name": "m", "size": 10, "dataCenterId": "US-KS-2"}
        )
        tpl = api.post("/v1/templates", json={"name": "t", "imageName": "i", "isServerless": True})
        ep = api.post(
            "/v1/endpoints",
            json={
                "templateId": tpl.json()["id"],
                "workersMax": 1,
                "networkVolumeId": vol.json()["id"],
            },
        )
        api.patch(f"/v1/endpoints/{ep.json()['id']}", json={"workersMax": 2})
        first.backend.set_quota(9)
    assert (tmp_path / "volumes" / vol.json()["id"]).is_dir()

    with (
        LocalRunPod(state_dir=tmp_path) as second,
        httpx.Client(base_url=second.url, headers=KEY) as api,
    ):
        again = api.get(f"/v1/endpoints/{ep.json()['id']}").json()
        assert again["workersMax"] == 2 and again["version"] == 2
        assert again["networkVolumeId"] == vol.json()["id"]
        assert api.get("/v1/templates").json()[0]["name"] == "t"
        assert second.backend.default_quota == 9
        dup = api.post("/v1/templates", json={"name": "t", "imageName": "i"})
        assert dup.status_code == 400  # the restored names still count


def _start_cli(port: int, state_dir: Path) -> subprocess.Popen[str]:
    cmd = [
        sys.executable,
        "-m",
        "podkit",
        "emulator",
        "start",
        "--port",
        str(port),
        "--state-dir",
        str(state_dir),
        "--json",
    ]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )


def _wait_ready(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the emulator exited early"
        try:
            if httpx.get(f"{url}/_emulator/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the emulator did not become ready")


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_start_persists_and_restores(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start_cli(port, tmp_path)
    try:
        _wait_ready(url, proc)
        created = httpx.post(
            f"{url}/v2/templates", headers=KEY, json={"name": "cli", "image": "img"}
        )
        assert created.status_code == 201
    finally:
        _stop(proc)
    assert proc.returncode == 0
    snapshot = json.loads((tmp_path / "state.json").read_text())
    assert snapshot["accounts"][0]["templates"]

    proc = _start_cli(port, tmp_path)
    try:
        _wait_ready(url, proc)
        listed = httpx.get(f"{url}/v2/templates", headers=KEY).json()["templates"]
        assert [t["id"] for t in listed] == [created.json()["id"]]
    finally:
        _stop(proc)


def test_every_answered_change_survives_kill_9(tmp_path: Path) -> None:
    """The state file is written and fsynced before a change is answered."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start_cli(port, tmp_path)
    try:
        _wait_ready(url, proc)
        names = [f"t{i}" for i in range(5)]
        for name in names:
            body = {"name": name, "image": "img"}
            assert httpx.post(f"{url}/v2/templates", headers=KEY, json=body).status_code == 201
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    proc = _start_cli(port, tmp_path)
    try:
        _wait_ready(url, proc)
        listed = httpx.get(f"{url}/v2/templates", headers=KEY).json()["templates"]
        assert sorted(t["name"] for t in listed) == names
    finally:
        _stop(proc)


def test_a_corrupt_snapshot_is_an_actionable_error(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "podkit",
            "emulator",
            "start",
            "--port",
            "0",
            "--state-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    err = " ".join(proc.stderr.split())  # the console wraps long lines
    assert "state.json is not a podkit emulator snapshot" in err
    assert "--state-dir" in err and "Traceback" not in err
