"""`podkit apply --wait --smoke` rolls a failing release back even when `worker.env` holds an
inline secret: the record's fingerprint is matched against podkit.toml's value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod

ROOT = Path(__file__).resolve().parents[3]
KEY = "rpa_GATE_canary_0123456789"
TOKEN = "tok-4f9a2c71e0d3-not-a-real-one"
IMAGE = "ghcr.io/acme/worker:{tag}@sha256:{digest}"
CONFIG = """
project = "gated-secret"

[image]
ref = "{image}"

[worker]
env = {{ PYTHONPATH = "{root}", PODKIT_ACTIONS = "tests.functional.jobs.slow_actions", \
PODKIT_SKIP_CPUINFO = "true", RELEASE_MARKER = "good", API_TOKEN = "{token}" }}

[endpoint]
gpu_types = ["NVIDIA GeForce RTX 4090"]
workers_min = 0
workers_max = 1

[[smoke]]
name = "right release"
input = {{ action = "release_marker" }}
expect = {{ marker = "good" }}
max_execution = "30s"
"""


def test_a_failed_smoke_gate_rolls_back_a_release_with_an_inline_secret(
    local_runpod: LocalRunPod,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PODKIT_TARGET", local_runpod.url)
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    good = IMAGE.format(tag="1", digest="a" * 64)
    bad = IMAGE.format(tag="2", digest="b" * 64)
    config = tmp_path / "podkit.toml"
    config.write_text(CONFIG.format(image=good, root=ROOT, token=TOKEN))
    base = ["apply", "-c", str(config), "--yes", "--wait", "--smoke"]
    assert main(base) == 0, capsys.readouterr().err
    capsys.readouterr()

    code = main([*base, "--image", bad, "--set", 'worker.env.RELEASE_MARKER="bad"'])
    out, err = capsys.readouterr()
    said = " ".join(err.split())
    assert code == 1, err
    assert "cannot restore it" not in said
    assert "rolled back to history record #1 (" in said
    path = tmp_path / ".podkit" / "history" / "gated-secret-default.json"
    history = json.loads(path.read_text())
    assert [r["source"].split(":")[0] for r in history["records"]] == ["apply", "apply", "rollback"]
    assert history["records"][-1]["image"] == good
    assert TOKEN not in out + err + path.read_text() and KEY not in out + err
