"""The deploy commands as a user runs them: exit codes, JSON, Markdown, no secrets shown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.deploy.helpers import IMAGE_B, write_config

KEY = "rpa_TESTKEY_do_not_print_0123456789"


@pytest.fixture
def project(local_runpod, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PODKIT_TARGET", local_runpod.url)
    monkeypatch.setenv("RUNPOD_API_KEY", KEY + tmp_path.name)
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str, stdout: bool = False) -> tuple[int, str]:
    """Exit code and output (stdout only when asked, e.g. for --json; else both streams)."""
    code = main(list(argv))
    captured = capsys.readouterr()
    assert KEY not in captured.out + captured.err, f"API key printed by {argv}"
    return code, captured.out if stdout else captured.out + captured.err


def test_plan_apply_status_rollback_destroy(project: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    summary = project / "summary.md"
    code, out = run(capsys, "plan", "--env", "staging", "--markdown", str(summary))
    assert code == 2 and "2 to create" in out
    assert "**2 to create**" in summary.read_text()
    assert run(capsys, "apply", "--env", "staging", "--yes")[0] == 0
    code, out = run(capsys, "plan", "--env", "staging", "--json", stdout=True)
    assert code == 0 and json.loads(out)["summary"] == "no changes"
    code, out = run(capsys, "apply", "--env", "staging", "--yes")
    assert code == 0 and "no changes" in out
    code, out = run(
        capsys, "apply", "--env", "staging", "--yes", "--image", IMAGE_B, "--json", stdout=True
    )
    assert code == 0 and json.loads(out)["history_record"] == 2
    code, out = run(capsys, "status", "--env", "staging", "--json", stdout=True)
    report = json.loads(out)
    assert code == 0 and report["history"]["current"] == 2
    assert report["endpoints"][0]["image"] == IMAGE_B
    assert report["quota"]["used"] == 1
    assert run(capsys, "rollback", "--env", "staging", "--yes")[0] == 0
    code, out = run(capsys, "status", "--env", "staging", "--json", stdout=True)
    assert json.loads(out)["endpoints"][0]["image"] != IMAGE_B
    code, out = run(capsys, "destroy", "--env", "staging", "--yes", "--volumes")
    assert code == 0 and "destroyed" in out
    assert run(capsys, "plan", "--env", "staging")[0] == 2
    assert (project / ".podkit" / "history" / "gpu-worker-staging.json").is_file()


def test_errors_are_one_line_and_never_show_the_key(project: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    code, out = run(capsys, "plan", "--env", "nope")
    assert code == 1 and "env.nope: no such environment for --env (known: " in out
    code, out = run(capsys, "plan", "--require-digest", "--image", "ghcr.io/a/b:latest")
    assert code == 1 and "--require-digest: --image 'ghcr.io/a/b:latest' is not pinned" in out
    code, out = run(capsys, "apply", "--env", "staging")  # stdin is not a terminal in tests
    assert code == 1 and "--yes" in out
    monkeypatch.delenv("RUNPOD_API_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(project))
    code, out = run(capsys, "plan", "--env", "staging")
    assert code == 1 and "RUNPOD_API_KEY" in out


def test_deleting_an_endpoint_needs_force_and_v1_plans_a_template(project: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(capsys, "apply", "--yes")[0] == 0
    renamed = ("--set", "endpoint.name=gpu-worker-renamed")
    code, out = run(capsys, "apply", "--yes", *renamed)
    assert code == 1 and "deletes endpoint gpu-worker" in out and "--force" in out
    code, out = run(capsys, "apply", "--yes", "--force", *renamed)
    assert code == 0 and "1 to create, 1 to delete" in out
    code, out = run(capsys, "plan", "--api", "v1", "--json", *renamed, stdout=True)
    changes = json.loads(out)["changes"]
    assert code == 2 and [c["kind"] for c in changes if c["action"] == "create"] == ["template"]


def test_where_the_live_catalog_differs_from_podkits_copy_it_wins_and_the_plan_notes_it(
    project: Path,
    local_runpod,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    gpus = local_runpod.backend.catalog.gpus
    gpus["NVIDIA Z900"] = {**gpus["NVIDIA B200"], "id": "NVIDIA Z900", "name": "Z900"}
    code, out = run(capsys, "plan", "--env", "staging", "--json", stdout=True)
    assert code == 2
    assert (
        "the live catalog has GPU types podkit does not know yet: ['NVIDIA Z900']"
        in (json.loads(out)["notes"])
    )
    gpus["NVIDIA GeForce RTX 4090"]["pool"] = None  # known to podkit, no longer serverless
    code, out = run(capsys, "plan", "--env", "staging")
    assert code == 1
    assert "'NVIDIA GeForce RTX 4090' is not offered for serverless" in " ".join(out.split())


def test_with_podkit_catalog_live_a_name_podkit_does_not_know_is_left_to_the_live_catalog(
    project: Path,
    local_runpod: LocalRunPod,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gpus = local_runpod.backend.catalog.gpus
    gpus["NVIDIA B300"] = {**gpus["NVIDIA B200"], "id": "NVIDIA B300", "name": "B300"}
    new_gpu = ["--set", 'endpoint.gpu_types=["NVIDIA B300"]']
    code, out = run(capsys, "plan", "--env", "staging", *new_gpu)
    assert code == 1 and "did you mean 'NVIDIA B200'?" in out
    monkeypatch.setenv("PODKIT_CATALOG", "live")
    code, out = run(capsys, "plan", "--env", "staging", "--json", *new_gpu, stdout=True)
    assert code == 2
    assert any("NVIDIA B300" in note for note in json.loads(out)["notes"])
    code, out = run(capsys, "plan", "--env", "staging", "--set", 'endpoint.gpu_types=["h200"]')
    assert code == 1 and "did you mean 'NVIDIA H200'?" in out  # a near miss is still refused


@pytest.mark.parametrize("broken", ["garbage", "a directory", "a file as its folder"])
@pytest.mark.parametrize("command", ["apply", "destroy"])
def test_a_history_that_cannot_take_the_record_stops_the_deploy_before_any_write(
    project: Path, local_runpod: LocalRunPod, capsys, broken: str, command: str
) -> None:  # type: ignore[no-untyped-def]
    assert run(capsys, "apply", "--env", "staging", "--yes")[0] == 0
    before = _endpoints(local_runpod, project)
    history = project / ".podkit" / "history" / "gpu-worker-staging.json"
    history.unlink()
    if broken == "garbage":
        history.write_text("garbage\n")
    elif broken == "a directory":
        history.mkdir()
    else:
        history.parent.rmdir()
        history.parent.write_text("in the way\n")
    argv = [command, "--env", "staging", "--yes", "--set", "endpoint.workers_max=2", "--json"]
    code, out = run(capsys, *argv, stdout=True)
    assert code == 1
    assert str(history) in json.loads(out)["error"]["message"]
    assert _endpoints(local_runpod, project) == before


def _endpoints(runpod: LocalRunPod, project: Path) -> list[dict[str, object]]:
    headers = {"Authorization": f"Bearer {KEY}{project.name}"}
    answer = httpx.get(f"{runpod.url}/v2/serverless", headers=headers, timeout=10)
    endpoints: list[dict[str, object]] = answer.raise_for_status().json()
    return endpoints


def test_ctrl_c_among_the_writes_says_where_it_stopped_and_what_to_run(
    project: Path, local_runpod: LocalRunPod
) -> None:
    local_runpod.backend.faults.add("POST /v2/serverless", latency_s=60)  # the endpoint's create
    cmd = [sys.executable, "-m", "podkit.cli.main", "apply", "--env", "staging", "--yes"]
    env = {**os.environ, "COLUMNS": "300", "PYTHONPATH": str(Path(__file__).parents[3])}
    with subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env) as proc:
        assert proc.stderr is not None
        seen = ""
        while "create endpoint" not in seen:  # the volume is made; the endpoint's create hangs
            seen += proc.stderr.readline()
        proc.send_signal(signal.SIGINT)
        seen += proc.stderr.read()
        assert proc.wait(timeout=60) == 130, seen
    said = " ".join(seen.split())
    assert "interrupted during 'create endpoint gpu-worker-staging'" in said
    assert "no history record was written" in said
    assert "`podkit apply --env staging` finishes it" in said
    assert "interrupted" not in seen.splitlines()  # its own account, not doubled by a bare line
    assert "Traceback" not in seen and KEY not in seen
