"""A deploy stopped after its writes and before its history record (a crash, Ctrl-C): running
the same command again catches the history up, as the interrupted message promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.deploy import service
from podkit.deploy.executor import Executor
from podkit.emulator.server import LocalRunPod
from podkit.runpod import ApiKey
from tests.functional.deploy.helpers import IMAGE_A, IMAGE_B, cli_project, client, load

KEY = "rpa_CATCHUP_canary_0123456789"


@pytest.fixture
def project(local_runpod: LocalRunPod, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return cli_project(local_runpod.url, tmp_path, monkeypatch, KEY)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert KEY not in captured.out + captured.err
    return code, captured.out, " ".join(captured.err.split())


def records(project: Path) -> list[dict[str, str]]:
    path = project / ".podkit" / "history" / "gpu-worker-staging.json"
    found: list[dict[str, str]] = json.loads(path.read_text())["records"]
    return found


def crash_before_the_record(url: str, project: Path, **overrides: str) -> None:
    """What an apply that died right after its writes leaves: the writes, no record."""
    key = ApiKey(KEY + project.name, "test")
    with client(url, key) as c:
        prepared = service.prepare(c, load(project / "podkit.toml", **overrides))
        assert prepared.plan.has_changes
        Executor(c).apply(prepared.plan, prepared.snapshot)


def crash_before_the_destroy_record(url: str, project: Path) -> None:
    key = ApiKey(KEY + project.name, "test")
    with client(url, key) as c:
        scope = service.scope_for(load(project / "podkit.toml"))
        plan, snapshot = service.prepare_destroy(c, scope, volumes=False)
        assert plan.has_changes
        service.destroy(c, plan, snapshot)


def test_apply_again_after_a_crash_before_the_record_records_what_runs(
    project: Path, local_runpod: LocalRunPod, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "apply", "--env", "staging", "--yes")[0] == 0
    crash_before_the_record(local_runpod.url, project, image__ref=IMAGE_B)

    code, out, _ = run(capsys, "apply", "--env", "staging", "--yes", "--image", IMAGE_B, "--json")
    said = json.loads(out)
    assert code == 0 and said["summary"] == "no changes"
    assert (said["history_record"], said["image"]) == (2, IMAGE_B)
    assert [r["image"] for r in records(project)] == [IMAGE_A, IMAGE_B]

    # Caught up: a further run with nothing new records nothing.
    code, out, _ = run(capsys, "apply", "--env", "staging", "--yes", "--image", IMAGE_B, "--json")
    assert code == 0 and json.loads(out)["history_record"] is None
    assert len(records(project)) == 2

    # And rollback has the earlier release to go back to.
    code, _, err = run(capsys, "rollback", "--env", "staging", "--yes")
    assert code == 0, err
    code, out, _ = run(capsys, "status", "--env", "staging", "--json")
    assert json.loads(out)["endpoints"][0]["image"] == IMAGE_A


def test_a_settings_change_that_crashed_before_its_record_is_recorded_on_the_rerun(
    project: Path, local_runpod: LocalRunPod, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "apply", "--env", "staging", "--yes")[0] == 0
    crash_before_the_record(local_runpod.url, project, endpoint__workers_max="2")

    code, out, _ = run(
        capsys, "apply", "--env", "staging", "--yes", "--set", "endpoint.workers_max=2", "--json"
    )
    assert code == 0 and json.loads(out)["history_record"] == 2
    history = json.loads((project / ".podkit" / "history" / "gpu-worker-staging.json").read_text())
    endpoint = next(r for r in history["records"][-1]["resources"] if r["kind"] == "endpoint")
    assert endpoint["fields"]["workers.max"] == 2


def test_destroy_again_after_a_crash_before_the_record_records_the_destroy(
    project: Path, local_runpod: LocalRunPod, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "apply", "--env", "staging", "--yes")[0] == 0
    endpoint_id = records(project)[-1]["endpoint_id"]
    crash_before_the_destroy_record(local_runpod.url, project)

    code, out, _ = run(capsys, "destroy", "--env", "staging", "--yes")
    assert code == 0 and "recorded the destroy" in out
    assert [(r["source"], r["endpoint_id"]) for r in records(project)] == [
        ("apply", endpoint_id),
        ("destroy", endpoint_id),
    ]
    code, _, err = run(capsys, "rollback", "--env", "staging", "--yes")
    assert code == 0 and "was destroyed on" in err and "history #2" in err

    # After a complete destroy, another destroy records nothing more.
    assert run(capsys, "destroy", "--env", "staging", "--yes")[0] == 0
    assert run(capsys, "destroy", "--env", "staging", "--yes")[0] == 0
    assert [r["source"] for r in records(project)].count("destroy") == 2


def test_ci_summary_of_a_destroyed_deployment_says_it_was_destroyed(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "apply", "--env", "staging", "--yes")[0] == 0
    assert run(capsys, "destroy", "--env", "staging", "--yes")[0] == 0
    code, out, err = run(capsys, "ci", "summary", "--env", "staging")
    assert code == 1 and out == ""
    assert "'gpu-worker-staging' of project gpu-worker (env staging) was destroyed on" in err
    assert "by history #2" in err and "podkit apply" in err


def test_runs_that_change_nothing_add_no_record_even_with_an_inline_secret(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = ("--set", 'worker.env.API_TOKEN="tok-5e1d0c9b7a-not-real"')
    assert run(capsys, "apply", "--env", "staging", "--yes", *secret)[0] == 0
    code, out, _ = run(capsys, "apply", "--env", "staging", "--yes", "--json", *secret)
    assert code == 0 and json.loads(out)["history_record"] is None
    code, out, err = run(capsys, "rollback", "--env", "staging", "--yes", "--to", "1", *secret)
    assert code == 0, err
    assert len(records(project)) == 1
