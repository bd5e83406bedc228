"""A new user's path: an existing runpod handler adopted with `podkit init`, planned, applied
with `--wait --smoke` to three environments of the local RunPod, run, updated, a broken
release caught and rolled back, rolled back by hand, destroyed."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "user_handler" / "handler.py"
KEY = "rpa_new_user_SECRET_51d0"
ENVS = ("dev", "staging", "production")
IMAGE = "ghcr.io/acme/gpu-check:{tag}@sha256:{digest}"


def podkit(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert KEY not in out + err
    return code, out, " ".join(err.split())


def test_an_adopted_handler_goes_through_the_whole_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "gpu-check"
    project.mkdir()
    shutil.copy(FIXTURE, project / "handler.py")
    original = (project / "handler.py").read_bytes()
    monkeypatch.chdir(project)
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)

    code, out, _ = podkit(capsys, "init", ".")
    assert code == 0
    assert "adopted handler.py" in out
    assert (project / "handler.py").read_bytes() == original
    assert 'CMD ["python", "-u", "handler.py"]' in (project / "Dockerfile").read_text()
    for made in ("podkit.toml", "tests/test_local_runpod.py", ".github/workflows/deploy.yml"):
        assert (project / made).is_file(), made
    with (project / "podkit.toml").open("a") as toml:  # the user's third environment
        toml.write("\n[env.dev.endpoint]\nworkers_max = 1\n")

    first = IMAGE.format(tag="1", digest="1" * 64)
    second = IMAGE.format(tag="2", digest="2" * 64)
    with LocalRunPod(worker_command=[sys.executable, "-u", str(project / "handler.py")]) as local:
        monkeypatch.setenv("PODKIT_TARGET", local.url)
        for env in ENVS:
            assert podkit(capsys, "plan", "--env", env, "--image", first, "--no-models")[0] == 2
            code, _, err = podkit(
                capsys, "apply", "--env", env, "--image", first, "--yes", "--wait", "--smoke"
            )
            assert code == 0, err

        # Without --env the hint names the environments that have a deployment.
        code, _, err = podkit(capsys, "run", "report")
        assert code == 1 and "pass --env" in err and "staging" in err

        code, out, err = podkit(capsys, "run", "report", "--env", "staging", "--json")
        assert code == 0, err
        output = json.loads(out)["output"]
        assert "NVIDIA-SMI" in output["nvidia_smi"] and output["volume"] == []

        apply = ["apply", "--env", "staging", "--yes", "--wait", "--smoke"]
        assert podkit(capsys, *apply, "--image", second)[0] == 0  # the update

        # A release whose workers die at start fails fast, quoting them, and is rolled back.
        broken = 'worker.env.PYTHONHOME="/nonexistent"'
        third = IMAGE.format(tag="3", digest="3" * 64)
        code, _, err = podkit(capsys, *apply, "--image", third, "--set", broken)
        assert code == 1
        assert "crash-loop" in err and "encodings" in err  # Python's own last words
        assert "rolled back to history record" in err and "live again" in err

        code, _, err = podkit(capsys, "rollback", "--env", "staging", "--yes")
        assert code == 0, err
        code, out, _ = podkit(capsys, "history", "--env", "staging", "--json")
        records = json.loads(out)["records"]
        assert [r["image"] for r in records][-1] == first
        assert {r["target"]["origin"] for r in records} == {local.url}
        assert all(KEY not in json.dumps(r) for r in records)

        # The user's own handler has no sync_models: the command says so and what to do.
        models = project / "models.toml"
        models.write_text('[[models]]\nsource = "hf://acme/tiny"\ndestination = "models/tiny"\n')
        sync = ["models", "sync", "-c", str(models), "--endpoint", records[-1]["endpoint_id"]]
        code, _, err = podkit(capsys, *sync)
        assert code == 1 and "lacks `sync_models`" in err
        assert "with_builtins(handler)" in err and "--local" in err

        for env in ENVS:
            assert podkit(capsys, "destroy", "--env", env, "--yes")[0] == 0
        code, _, err = podkit(capsys, "run", "report", "--env", "staging")
        assert code == 1 and "was destroyed on" in err and "podkit apply" in err
        code, out, _ = podkit(capsys, "status", "--env", "staging")
        assert code == 0 and "by history #" in out and "run podkit apply" in out
        code, out, _ = podkit(capsys, "history", "--env", "staging")
        assert code == 0 and "destroy" in out and "acct-" in out
        # Rolling back a destroyed deployment recreates it: podkit says so and asks first.
        code, _, err = podkit(capsys, "rollback", "--env", "dev")
        assert code == 1 and "this rollback recreates it" in err and "--yes" in err
        assert local.backend.state_dir is not None


def test_a_scaffolded_project_deploys_to_a_local_runpod_started_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "fresh"
    assert podkit(capsys, "init", str(project))[0] == 0
    monkeypatch.chdir(project)  # where a user runs `podkit emulator start`
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    image = IMAGE.format(tag="1", digest="1" * 64)
    with LocalRunPod() as local:
        monkeypatch.setenv("PODKIT_TARGET", local.url)
        apply = ["apply", "--env", "staging", "--image", image, "--yes", "--wait", "--smoke"]
        code, _, err = podkit(capsys, *apply)
        assert code == 0, err  # the workers imported handler.py: `predict` passed
        assert "No module named" not in err
        assert podkit(capsys, "destroy", "--env", "staging", "--yes")[0] == 0
