"""REST v1 and v2 describe one endpoint the same way: a v2 plan after a v1 apply has no
changes, and a v2 destroy removes the template the v1 apply made."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.deploy.helpers import write_config


def test_a_v1_deploy_reads_the_same_through_v2_and_v2_destroys_all_of_it(
    local_runpod: LocalRunPod,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PODKIT_TARGET", local_runpod.url)
    monkeypatch.setenv("RUNPOD_API_KEY", "rpa_generations_key")
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path)
    env = ["--env", "staging"]
    assert main(["apply", *env, "--api", "v1", "--yes", "--json"]) == 0
    capsys.readouterr()
    assert main(["plan", *env, "--no-models", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"] == "no changes"

    assert main(["destroy", *env, "--yes", "--json"]) == 0
    deleted = {c["kind"] for c in json.loads(capsys.readouterr().out)["changes"]}
    assert {"endpoint", "template"} <= deleted
    assert main(["plan", *env, "--api", "v1", "--no-models", "--json"]) == 2
    kinds = [c["kind"] for c in json.loads(capsys.readouterr().out)["changes"]]
    assert "template" in kinds  # nothing of the v1 deploy was left behind to adopt
