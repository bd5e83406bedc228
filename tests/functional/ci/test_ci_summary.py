"""`podkit ci summary` after real applies on the local RunPod: live id, release, no key."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod

KEY = "rpa_SUMMARYTESTKEY_MUST_NOT_LEAK_0001"
IMAGE = "ghcr.io/acme/w@sha256:"


@pytest.fixture
def project(tmp_path: Path, local_runpod: LocalRunPod, monkeypatch: pytest.MonkeyPatch) -> Path:
    dest = tmp_path / "w"
    assert main(["init", str(dest)]) == 0
    monkeypatch.chdir(dest)
    monkeypatch.setenv("PODKIT_TARGET", local_runpod.url)
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    return dest


def test_summary_shows_the_live_release_and_curl_commands(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for digit in "12":
        assert main(["apply", "--env", "staging", "--image", IMAGE + digit * 64, "--yes"]) == 0
    capsys.readouterr()
    out = project / "summary.md"
    assert main(["ci", "summary", "--env", "staging", "--markdown", str(out)]) == 0
    printed = capsys.readouterr()
    text = out.read_text()
    assert IMAGE + "2" * 64 in text
    assert "| release | `v2 (release " in text and "deploy #2" in text
    endpoint_id = text.split("| endpoint id | `", 1)[1].split("`", 1)[0]
    assert f"/v2/{endpoint_id}/runsync" in text
    assert '"action": "predict"' in text  # the first smoke test's input
    assert "$RUNPOD_API_KEY" in text
    assert KEY not in text + printed.out + printed.err


def test_summary_without_a_deploy_says_what_to_do(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ci", "summary", "--env", "staging"]) == 1
    err = capsys.readouterr().err
    assert "no deploy recorded" in err and "podkit apply" in err


def test_summary_for_another_target_does_not_show_this_ones_release(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["apply", "--env", "staging", "--image", IMAGE + "3" * 64, "--yes"]) == 0
    capsys.readouterr()
    with socket.socket() as probe:  # a port nothing listens on: another RunPod
        probe.bind(("127.0.0.1", 0))
        elsewhere = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("PODKIT_TARGET", elsewhere)
    assert main(["ci", "summary", "--env", "staging", "--json"]) == 1
    printed = capsys.readouterr()
    assert "no deploy recorded" in printed.err and elsewhere in printed.err
    assert IMAGE not in printed.out + printed.err
