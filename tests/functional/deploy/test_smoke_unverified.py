"""`podkit apply --smoke` whose smoke test cannot even run: the release is unverified, so it
is rolled back like one that failed its test (it stayed live, untested, with exit 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.deploy.helpers import IMAGE_A, IMAGE_B, cli_project

pytestmark = pytest.mark.timeout(240, method="thread")

SMOKE = """
[[smoke]]
name = "gpu"
input = { action = "gpu_info" }
max_execution = "60s"
"""


def test_a_smoke_test_the_data_plane_refuses_rolls_the_release_back(
    local_runpod: LocalRunPod,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = "rpa_smoke_unverified_SECRET"
    folder = cli_project(local_runpod.url, tmp_path, monkeypatch, key)
    config = folder / "podkit.toml"
    config.write_text(config.read_text(encoding="utf-8") + SMOKE, encoding="utf-8")
    base = ["apply", "--yes", "--smoke", "--env", "staging", "--rollout-timeout", "60s"]
    assert main(base) == 0, capsys.readouterr().err
    capsys.readouterr()

    local_runpod.backend.faults.add("POST /v2/*/runsync", rate_5xx=1.0, status_5xx=500)
    code = main([*base, "--image", IMAGE_B])
    out, err = capsys.readouterr()
    said = " ".join(err.split())
    assert code == 1, said
    assert "could not verify release v2: POST " in said and "failed (500)" in said
    assert "rolled back to history record #1 (" in said
    local_runpod.backend.faults.clear()

    account = local_runpod.backend.account(key + folder.name)
    running = [account.templates[e["templateId"]]["image"] for e in account.endpoints.values()]
    assert running == [IMAGE_A]
    assert key not in out + err
