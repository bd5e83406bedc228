"""The deploy workflow's own shell steps, run as written: digest hand-off and input checks."""

from __future__ import annotations

from pathlib import Path

from tests.functional.ci.workflow_run import DIGEST, FAKE_KEY, runner

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW = ROOT / "examples" / "github-actions" / "deploy.yml"


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "repo"
    ws.mkdir()
    return ws


def test_the_build_digest_becomes_the_release_image(tmp_path: Path) -> None:
    run = runner(WORKFLOW, _workspace(tmp_path)).run_job("deploy", stop_after="overrides")
    assert run.ok, run.log
    assert run.step("image").outputs["repository"] == "ghcr.io/acme/gpu-worker"
    assert run.step("release").outputs["image"] == f"ghcr.io/acme/gpu-worker@{DIGEST}"
    assert run.step("build").ran is False  # provided by the test, as the build action would
    assert FAKE_KEY not in run.log


def test_a_missing_digest_stops_the_job_before_any_deploy(tmp_path: Path) -> None:
    run = runner(WORKFLOW, _workspace(tmp_path), digest="").run_job("deploy")
    assert run.step("release").outcome == "failure"
    assert "gave no image digest" in run.step("release").log
    assert run.step("plan").outcome == "skipped"
    assert run.step("apply").outcome == "skipped"


def test_dispatch_inputs_become_set_overrides(tmp_path: Path) -> None:
    inputs = {
        "action": "deploy",
        "environment": "production",
        "gpu_type": "NVIDIA GeForce RTX 4090",
        "datacenter": "EU-RO-1",
        "execution_timeout": "2h",
    }
    ws = _workspace(tmp_path)
    run = runner(WORKFLOW, ws, event="workflow_dispatch", inputs=inputs).run_job(
        "deploy", stop_after="overrides"
    )
    assert run.ok, run.log
    overrides = (ws.parent / "runner-temp-deploy" / "podkit-overrides").read_text()
    assert overrides.splitlines() == [
        'endpoint.gpu_types=["NVIDIA GeForce RTX 4090"]',
        'endpoint.datacenters=["EU-RO-1"]',
        "endpoint.execution_timeout=2h",
    ]


def test_a_hostile_input_is_refused_not_executed(tmp_path: Path) -> None:
    inputs = {"action": "deploy", "environment": "staging", "gpu_type": 'x"]; $(touch pwned) #'}
    ws = _workspace(tmp_path)
    run = runner(WORKFLOW, ws, event="workflow_dispatch", inputs=inputs).run_job("deploy")
    assert run.step("overrides").outcome == "failure"
    assert "gpu_type" in run.step("overrides").log
    assert not (ws / "pwned").exists()
    assert run.step("plan").outcome == "skipped"
