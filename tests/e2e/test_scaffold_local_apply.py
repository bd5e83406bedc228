"""A freshly scaffolded project, as `podkit init` writes it, passes `podkit apply --wait
--smoke` on the local RunPod with no step by hand: its `[local] worker_command` makes the
local workers the project's own (app.py's FastAPI server; podkit's worker with handler.py),
run by the Python podkit runs on, and the project's own routes and actions answer afterwards."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from podkit.cli import exit_codes
from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod

KEY = "local-scaffold-key"
IMAGE = "local/fresh@sha256:" + "0" * 64
BIN = Path(sys.executable).parent


def podkit(capfd: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capfd.readouterr()
    return code, out, " ".join(err.split())


@pytest.fixture
def user_shell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A user's shell where podkit runs from its own environment, not activated: the `python`
    on PATH (if any) is not podkit's, yet `python` in [local] worker_command is."""
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != str(BIN)]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    monkeypatch.delenv("PODKIT_TARGET", raising=False)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@contextmanager
def applied(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, shell: Path, *init: str
) -> Iterator[str]:
    """`podkit init NAME ...` in the shell, then `apply --wait --smoke` from the project on a
    local RunPod that stays up in the block; yields what apply printed on stderr."""
    assert podkit(capfd, "init", *init)[0] == 0
    monkeypatch.chdir(shell / init[0])
    with LocalRunPod() as local:
        monkeypatch.setenv("PODKIT_TARGET", local.url)
        apply = ["apply", "--env", "staging", "--yes", "--wait", "--smoke", "--image", IMAGE]
        code, _, err = podkit(capfd, *apply)
        assert code == exit_codes.SUCCESS, err
        yield err


def test_a_load_balancer_project_passes_apply_smoke_then_answers_predict(
    user_shell: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    with applied(capfd, monkeypatch, user_shell, "chat-api", "--type", "load_balancer") as err:
        assert "run `python -u app.py` in" in err and "passed" in err
        request = ["request", "POST", "/predict", "-d", '{"text": "hello there"}']
        code, out, err = podkit(capfd, *request, "--env", "staging")
        assert code == exit_codes.SUCCESS, err
        assert json.loads(out)["longest"] == "hello"


def test_a_queue_project_passes_apply_smoke_then_runs_its_action(
    user_shell: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    with applied(capfd, monkeypatch, user_shell, "speech") as err:
        assert "run `python -u -m podkit.worker` in" in err
        run = ["run", "predict", "--input", '{"text": "one two three"}', "--env", "staging"]
        code, out, err = podkit(capfd, *run, "--json")
        assert code == exit_codes.SUCCESS, err
        assert json.loads(out)["output"]["words"] == 3
