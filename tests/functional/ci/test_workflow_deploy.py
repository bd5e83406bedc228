"""The deploy workflow, as written, against the local RunPod: deploy, redeploy, roll back.

The project is a fresh `podkit init` one, whose workflow is byte for byte the shipped
`examples/github-actions/deploy.yml`. The workflow's own `run:` steps run under bash; only the
image build (a fixed digest), the podkit install and the GitHub API lookup of the last state
artifact (`.podkit/` is kept between runs instead) are replaced. The API key is a recognisable
fake that must never appear in the job summary or in any step's log.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.ci.workflow_run import DIGEST, FAKE_KEY, runner
from tests.gha.runner import JobRun

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "github-actions" / "deploy.yml"
DIGEST_2 = "sha256:" + "7f" * 32
IMAGE = "ghcr.io/acme/gpu-worker@"  # the workflow names it from GITHUB_REPOSITORY


def assert_no_secret(*runs: JobRun) -> None:
    for run in runs:
        assert FAKE_KEY not in run.summary
        assert FAKE_KEY not in run.log


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "speech-worker"
    assert main(["init", str(ws)]) == 0
    # The local RunPod runs `python -m podkit.worker`; its workers import handler.py from here.
    monkeypatch.setenv("PYTHONPATH", str(ws))
    return ws


def test_push_deploys_staging_then_a_dispatch_rolls_it_back(
    project: Path, local_runpod: LocalRunPod
) -> None:
    workflow = project / ".github" / "workflows" / "deploy.yml"
    assert workflow.read_text() == EXAMPLE.read_text()

    first = runner(workflow, project, target=local_runpod.url).run_job("deploy")
    assert first.ok, first.log
    assert [s.key for s in first.steps if s.ran] == [
        "image", "release", "overrides", "plan", "apply", "summary",
    ]  # fmt: skip
    assert "### podkit plan: `speech-worker/staging`" in first.summary
    smoke = [line for line in first.summary.splitlines() if line.startswith("| predict |")]
    assert len(smoke) == 1 and " pass |" in smoke[0]  # the smoke test ran handler.py's action
    assert "## Deployed speech-worker (staging)" in first.summary
    assert f"| image | `{IMAGE}{DIGEST}` |" in first.summary
    assert "Authorization: Bearer $RUNPOD_API_KEY" in first.summary

    second = runner(workflow, project, target=local_runpod.url, digest=DIGEST_2).run_job("deploy")
    assert second.ok, second.log
    assert f"| image | `{IMAGE}{DIGEST_2}` |" in second.summary

    dispatch = {"action": "rollback", "environment": "staging"}
    back = runner(
        workflow, project, event="workflow_dispatch", inputs=dispatch, target=local_runpod.url
    ).run_job("rollback")
    assert back.ok, back.log
    assert f"| image | `{IMAGE}{DIGEST}` |" in back.summary  # read live from the endpoint
    assert "rollback" in back.summary
    assert [s.key for s in back.steps if s.ran] == ["rollback", "smoke", "summary"]
    assert "| predict |" in back.summary  # podkit test's results
    assert_no_secret(first, second, back)


def test_a_release_deploys_production_with_the_dispatch_overrides(
    project: Path, local_runpod: LocalRunPod
) -> None:
    workflow = project / ".github" / "workflows" / "deploy.yml"
    inputs = {"action": "deploy", "environment": "production", "execution_timeout": "45m"}
    run = runner(
        workflow, project, event="workflow_dispatch", inputs=inputs, target=local_runpod.url
    ).run_job("deploy", stop_after="plan")
    assert run.ok, run.log
    assert "### podkit plan: `speech-worker/production`" in run.summary
    assert "2700000" in run.summary  # 45 minutes, as the endpoint's timeout_ms
    assert_no_secret(run)


def test_a_dispatch_input_podkit_refuses_fails_the_plan_step_without_a_request(
    project: Path, local_runpod: LocalRunPod
) -> None:
    """podkit exits 1 for the bad value (never 2, which the plan step reads as "changes")."""
    workflow = project / ".github" / "workflows" / "deploy.yml"
    inputs = {"action": "deploy", "environment": "staging", "datacenter": "eu-ro-1"}
    assert local_runpod.recorder is not None
    before = len(local_runpod.recorder.responses)
    run = runner(
        workflow, project, event="workflow_dispatch", inputs=inputs, target=local_runpod.url
    ).run_job("deploy")
    assert run.step("plan").outcome == "failure"
    assert run.step("apply").outcome == "skipped"
    assert "did you mean 'EU-RO-1'?" in run.step("plan").log
    assert len(local_runpod.recorder.responses) == before
    assert_no_secret(run)
