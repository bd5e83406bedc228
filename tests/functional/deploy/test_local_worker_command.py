"""`[local] worker_command` through the CLI on the local RunPod: `apply` sets it on the
endpoint, in podkit.toml's directory; again unchanged on a second apply; `rollback` sets it too,
also on an endpoint it recreates after `destroy`; `plan` never mentions it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod

KEY = "rpa_LOCALWORKER_do_not_print_01234567"
IMAGE_A = "ghcr.io/acme/lb@sha256:" + "a" * 64
IMAGE_B = "ghcr.io/acme/lb@sha256:" + "b" * 64
CONFIG = """\
project = "lb-app"

[image]
repository = "ghcr.io/acme/lb"

[worker]
port = 8000

[endpoint]
type = "load_balancer"
gpu_pools = ["ADA_24"]
workers_max = 1

[local]
worker_command = "python -u app.py --model 'small one'"
"""
COMMAND = [sys.executable, "-u", "app.py", "--model", "small one"]  # `python`: podkit's own


@pytest.fixture
def project(local_runpod: LocalRunPod, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PODKIT_TARGET", local_runpod.url)
    monkeypatch.setenv("RUNPOD_API_KEY", KEY + tmp_path.name)
    monkeypatch.chdir(tmp_path)  # podkit runs here; podkit.toml lives one folder down
    folder = tmp_path / "service"
    folder.mkdir()
    (folder / "podkit.toml").write_text(CONFIG)
    return folder


def podkit(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--config", "service/podkit.toml"])
    out, err = capsys.readouterr()
    assert KEY not in out + err
    return code, out, " ".join(err.split())


def worker_of(local: LocalRunPod, endpoint_id: str) -> tuple[Any, Any]:
    found = local.backend.find_endpoint(endpoint_id)
    assert found is not None
    return found[1]["workerCommand"], found[1]["workerCwd"]


def apply(capsys: pytest.CaptureFixture[str], image: str) -> str:
    code, out, err = podkit(capsys, "apply", "--image", image, "--yes", "--json")
    assert code == 0, err
    endpoint_id: str = json.loads(out)["endpoint_id"]
    return endpoint_id


def test_apply_sets_the_command_in_the_directory_of_podkit_toml(
    project: Path, local_runpod: LocalRunPod, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint_id = apply(capsys, IMAGE_A)
    assert worker_of(local_runpod, endpoint_id) == (COMMAND, str(project.resolve()))
    spec = local_runpod.backend.endpoint_spec(endpoint_id)
    assert spec is not None
    assert (spec.worker_command, spec.worker_cwd) == (tuple(COMMAND), project.resolve())

    code, out, err = podkit(capsys, "apply", "--image", IMAGE_A, "--yes")
    assert code == 0 and "no changes" in out
    assert f"local RunPod: the workers of {endpoint_id} run `python -u app.py --model" in err
    assert worker_of(local_runpod, endpoint_id) == (COMMAND, str(project.resolve()))


def test_plan_says_nothing_of_it(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = podkit(capsys, "plan", "--image", IMAGE_A)
    assert code == 2, err
    assert "worker_command" not in out + err and "app.py" not in out + err
    code, out, _ = podkit(capsys, "plan", "--image", IMAGE_A, "--json")
    assert code == 2 and "app.py" not in out


def test_rollback_sets_it_again_even_on_a_recreated_endpoint(
    project: Path, local_runpod: LocalRunPod, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint_id = apply(capsys, IMAGE_A)
    assert apply(capsys, IMAGE_B) == endpoint_id
    local_runpod.backend.set_worker_command(endpoint_id, None)  # as if set back by hand
    code, _, err = podkit(capsys, "rollback", "--yes")
    assert code == 0, err
    assert worker_of(local_runpod, endpoint_id) == (COMMAND, str(project.resolve()))

    assert podkit(capsys, "destroy", "--yes")[0] == 0
    code, out, err = podkit(capsys, "rollback", "--yes", "--json")
    assert code == 0, err
    recreated = json.loads(out)["endpoint_id"]
    assert recreated != endpoint_id
    assert worker_of(local_runpod, recreated) == (COMMAND, str(project.resolve()))
