"""Hostile inputs to the CLI that ended in a traceback, two JSON documents or a request
somewhere else, against the local RunPod over HTTP.

Each one now ends in exit 1 with one JSON error document on stdout under `--json`, naming the
option or file at fault, and sends nothing it should not.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.deploy.helpers import write_config

KEY = "rpa_HOSTILE_canary_0123456789"
SMOKE = """
[[smoke]]
name = "gpu"
input = { action = "gpu_info" }
expect_keys = ["gpus"]
"""


@pytest.fixture
def project(local_runpod: LocalRunPod, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PODKIT_TARGET", local_runpod.url)
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path)
    config.write_text(config.read_text() + SMOKE)
    return tmp_path


def paths_seen(runpod: LocalRunPod) -> list[str]:
    assert runpod.recorder is not None
    return [f"{r.method} {r.path}" for r in runpod.recorder.responses]


def one_error_document(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    """Exit 1, no traceback, the key nowhere, and stdout exactly one JSON document."""
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert code == 1, captured.out + captured.err
    assert KEY not in captured.out + captured.err
    assert "Traceback" not in captured.err
    error: dict[str, Any] = json.loads(captured.out)["error"]  # one document, or this fails
    return error


@pytest.mark.parametrize("via", ["--markdown", "GITHUB_STEP_SUMMARY"])
def test_test_json_with_a_report_path_that_is_a_directory_prints_one_document_and_runs_nothing(
    project: Path,
    local_runpod: LocalRunPod,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    via: str,
) -> None:
    assert main(["apply", "--env", "staging", "--yes"]) == 0
    capsys.readouterr()
    folder = project / "reports"
    folder.mkdir()
    args = ["test", "--env", "staging", "--timeout", "20s"]
    if via == "--markdown":
        args += ["--markdown", str(folder)]
    else:
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(folder))
    before = len(paths_seen(local_runpod))
    error = one_error_document(capsys, *args)
    assert error["message"].endswith(f"{folder} is a directory, not a file")
    assert via.lstrip("-") in error["message"]
    assert not [p for p in paths_seen(local_runpod)[before:] if p.endswith(("/run", "/runsync"))]


def test_run_refuses_an_endpoint_id_from_a_tampered_history_file(
    project: Path, local_runpod: LocalRunPod, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "--env", "staging", "--yes"]) == 0
    capsys.readouterr()
    [history] = (project / ".podkit" / "history").glob("*.json")
    data = json.loads(history.read_text())
    data["records"][-1]["endpoint_id"] = "../../x"
    history.write_text(json.dumps(data))
    before = len(paths_seen(local_runpod))
    error = one_error_document(capsys, "run", "gpu_info", "--env", "staging")
    assert error["message"].startswith(f"{history}: record #")
    assert "names endpoint '../../x', which is not an id" in error["message"]
    assert not [p for p in paths_seen(local_runpod)[before:] if "/x/" in p or ".." in p]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (("run", "gpu_info", "--endpoint", "ep1", "--input", '{"a": NaN}'), "--input holds NaN"),
        (("run", "gpu_info", "--endpoint", "ep1", "--input", '{"a": 1e400}'), "--input holds"),
        (("logs", "--endpoint", "ep1", "--since", "800000d"), "--since '800000d'"),
        (("logs", "--endpoint", "ep1", "--since", "2024-13-45T99:00:00Z"), "--since '2024-13"),
        (("request", "GET", "/../../v2/serverless", "--endpoint", "ep1"), "'.' or '..' segment"),
    ],
)
def test_a_bad_value_is_refused_naming_its_option_before_any_request(
    project: Path,
    local_runpod: LocalRunPod,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    named: str,
) -> None:
    before = len(paths_seen(local_runpod))
    error = one_error_document(capsys, *argv)
    assert named in error["message"]
    assert paths_seen(local_runpod)[before:] == []


def test_a_request_body_file_that_is_a_pipe_is_refused_not_waited_on(
    project: Path, local_runpod: LocalRunPod, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = project / "body.json"
    os.mkfifo(fifo)
    writer = threading.Thread(target=feed, args=(fifo, "{}"), daemon=True)
    writer.start()  # so that a reader which waits on the pipe gets a body and goes on
    try:
        error = one_error_document(capsys, "request", "POST", "/x", "--data", f"@{fifo}",
                                   "--endpoint", "ep1")  # fmt: skip
    finally:
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # lets the writer go
        writer.join(timeout=5)
    assert error["message"] == f"--data file {fifo} is a named pipe (FIFO), not a file"
    assert paths_seen(local_runpod) == []


def feed(fifo: Path, text: str) -> None:
    with contextlib.suppress(BrokenPipeError):
        fifo.write_text(text)


def test_a_request_body_nested_too_deeply_for_json_is_sent_as_text(
    project: Path, local_runpod: LocalRunPod, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not JSON podkit can read, so it goes as text/plain: here to an endpoint that is not
    there, which is the one error."""
    error = one_error_document(capsys, "request", "POST", "/x", "--data", "[" * 100_000,
                               "--endpoint", "ep1")  # fmt: skip
    assert "endpoint 'ep1' not found" in error["message"]


def test_init_into_a_name_too_long_for_the_system_is_one_error_document(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error = one_error_document(capsys, "init", "a" * 300)
    assert "cannot create a project there (File name too long)" in error["message"]


def test_init_with_a_name_that_is_no_project_name_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    error = one_error_document(capsys, "init", str(tmp_path / "w"), "--name", "Bad Name")
    assert "--name 'Bad Name' is not a valid project name" in error["message"]
    assert not (tmp_path / "w").exists()


def test_apply_smoke_with_a_summary_path_that_is_a_directory_applies_nothing(
    project: Path,
    local_runpod: LocalRunPod,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(project))
    args = ("apply", "--env", "staging", "--yes", "--smoke", "--rollout-timeout", "20s")
    error = one_error_document(capsys, *args)
    assert error["message"] == f"$GITHUB_STEP_SUMMARY {project} is a directory, not a file"
    assert not [p for p in paths_seen(local_runpod) if p.startswith("POST ")]
