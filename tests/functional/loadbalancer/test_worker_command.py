"""An endpoint's own worker command on the local load balancer (`PUT .../worker-command`, as
`podkit apply` sends `[local] worker_command`): it runs in the directory given, and workers of
the previous command are replaced by it; without a directory of its own, a command runs where
the local RunPod's workers run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx

from podkit.emulator.server import LocalRunPod
from tests.functional.loadbalancer.conftest import FAST, KEY, lb_body, wait_until

LB_WORKER = Path(__file__).with_name("lb_worker.py")
# The project's own server: says where it runs, then serves as lb_worker.py does.
SERVER = f"""import os, runpy
os.environ["LB_MARKER"] = os.getcwd()
runpy.run_path({str(LB_WORKER)!r}, run_name="__main__")
"""


def echo(api: httpx.Client, endpoint_id: str) -> dict[str, Any]:
    answer = api.get(f"/lb/{endpoint_id}/echo/x", timeout=30)
    body: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
    return body


def test_a_new_command_replaces_the_workers_and_runs_in_its_directory(
    api: httpx.Client, create_lb: Any, tmp_path: Path
) -> None:
    made = create_lb("own-server", workers={"min": 1, "max": 1, "idleTimeout": 60})
    first = wait_until(lambda: echo(api, made["id"]), what="the first worker")
    assert first["env"]["LB_MARKER"] is None  # the module's default worker, lb_worker.py
    project = tmp_path / "project"
    project.mkdir()
    (project / "server.py").write_text(SERVER)

    command = {"command": [sys.executable, "server.py"], "cwd": str(project)}
    put = api.put(f"/_emulator/endpoints/{made['id']}/worker-command", json=command)
    assert put.status_code == 200, put.text
    after = wait_until(
        lambda: (b := echo(api, made["id"])).get("env", {}).get("LB_MARKER") and b,
        timeout=60,
        what="a worker of the new command",
    )
    assert after["env"]["LB_MARKER"] == str(project)
    assert after["worker"] != first["worker"]


def test_the_directory_must_be_an_absolute_existing_one(
    api: httpx.Client, create_lb: Any, tmp_path: Path
) -> None:
    made = create_lb("own-dir", workers={"min": 0, "max": 1, "idleTimeout": 60})
    path = f"/_emulator/endpoints/{made['id']}/worker-command"
    for cwd, said in (
        ("project", "must be an absolute directory path"),
        (str(tmp_path / "missing"), "is not a directory here"),
    ):
        refused = api.put(path, json={"command": ["python", "app.py"], "cwd": cwd})
        assert refused.status_code == 400 and said in refused.json()["message"]
    refused = api.put(path, json={"command": "python app.py"})
    assert refused.status_code == 400 and "a non-empty list of strings" in refused.json()["message"]


def test_without_a_directory_of_its_own_a_worker_runs_in_the_local_runpods(
    tmp_path: Path,
) -> None:
    # `podkit emulator start --worker-command 'python server.py' --worker-cwd DIR`
    project = tmp_path / "project"
    project.mkdir()
    (project / "server.py").write_text(SERVER)
    with (
        LocalRunPod(
            state_dir=tmp_path / "state",
            worker_command=[sys.executable, "server.py"],
            worker_cwd=project,
            loadbalancer_settings=FAST,
        ) as local,
        httpx.Client(base_url=local.url, headers={"Authorization": f"Bearer {KEY}"}) as api,
    ):
        made = api.post("/v2/serverless", json=lb_body("relative", workers={"min": 1, "max": 1}))
        answered = wait_until(lambda: echo(api, made.json()["id"]), what="a worker")
    assert answered["env"]["LB_MARKER"] == str(project.resolve())
