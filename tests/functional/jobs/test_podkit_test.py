"""`podkit test`: [[smoke]] tests against a scale-to-zero endpoint, cold then warm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.jobs.conftest import SECRET_KEY, create_endpoint

CONFIG = """
project = "jobs-test"

[image]
ref = "ghcr.io/acme/worker:1.0@sha256:{digest}"

[endpoint]
gpu_types = ["NVIDIA GeForce RTX 4090"]

[[smoke]]
name = "steps"
input = {{ action = "slow_steps", steps = 1, gap = 0 }}
expect = {{ done = true, steps = 1 }}
max_execution = "30s"

[[smoke]]
name = "volume listing"
input = {{ action = "list_files", path = "/runpod-volume" }}
expect_keys = ["files"]
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "podkit.toml"
    path.write_text(CONFIG.format(digest="0" * 64))
    return path


def test_smoke_report_shows_cold_and_warm_timings_in_the_ci_summary(
    cli_env: str,
    runpod_local: LocalRunPod,
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    zero = create_endpoint(runpod_local, "zero", files={"models/a.bin": b"x"})
    summary = tmp_path / "step-summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    report = tmp_path / "smoke.md"
    args = ["test", "-c", str(config), "--endpoint", zero, "--markdown", str(report)]

    code = main([*args, "--only", "steps", "--only", "volume listing"])
    out, err = capsys.readouterr()

    assert code == 0, err
    text = report.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| steps") or "volume" in line]
    assert len(rows) == 2
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[1].endswith("pass")
        assert all(cell != "-" for cell in cells[2:6]), row  # cold and warm delay + execution
    assert summary.read_text() == "# earlier step\n" + text
    assert "cold queue" in out and "warm exec" in out
    assert SECRET_KEY not in out + err + text


def test_a_failing_smoke_test_under_json_prints_one_document_and_exits_1(
    cli_env: str,
    runpod_local: LocalRunPod,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    zero = create_endpoint(runpod_local, "zero-failing")
    config = tmp_path / "podkit.toml"
    config.write_text(CONFIG.format(digest="0" * 64).replace("steps = 1 }", "steps = 2 }"))

    code = main(["test", "-c", str(config), "--endpoint", zero, "--only", "steps", "--json"])
    out, err = capsys.readouterr()

    assert code == 1, err
    document = json.loads(out)
    assert [r["passed"] for r in document["results"]] == [False]
    assert "steps" in document["results"][0]["failures"][0]
    assert SECRET_KEY not in out + err
