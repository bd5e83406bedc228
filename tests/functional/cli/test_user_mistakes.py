"""A user's mistakes on the command line, against the local RunPod over HTTP.

Each one ends in exit 1 with one actionable error (a JSON document on stdout under
`--json`), never a traceback, and never the API key in any output.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.deploy.helpers import write_config

KEY = "rpa_MISTAKE_canary_0123456789"


@pytest.fixture
def project(local_runpod: LocalRunPod, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PODKIT_TARGET", local_runpod.url)
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path)
    return tmp_path


def error_document(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    """Run a command that must fail: exit 1, the key nowhere, the error as JSON on stdout."""
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert code == 1, captured.out + captured.err
    assert KEY not in captured.out + captured.err
    assert "Traceback" not in captured.err
    error: dict[str, Any] = json.loads(captured.out)["error"]
    return error


@pytest.mark.parametrize("where", ["missing-dir/plan.md", "."])
def test_an_unwritable_markdown_path_is_an_error_naming_it(
    project: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    target = project / where
    error = error_document(capsys, "plan", "--env", "staging", "--markdown", str(target))
    assert str(target) in error["message"] and "--markdown" in error["hint"]


def test_ci_summary_to_an_unwritable_markdown_path_is_an_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "--env", "staging", "--yes"]) == 0
    capsys.readouterr()
    target = project / "missing-dir" / "summary.md"
    error = error_document(capsys, "ci", "summary", "--env", "staging", "--markdown", str(target))
    assert str(target) in error["message"]


@pytest.mark.parametrize("command", ["plan", "apply", "status"])
def test_a_negative_worker_quota_is_a_usage_error_naming_the_option(
    project: Path,
    local_runpod: LocalRunPod,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    error = error_document(capsys, command, "--env", "staging", "--worker-quota", "-1")
    assert error["kind"] == "UsageError" and "--worker-quota" in error["message"]
    monkeypatch.setenv("PODKIT_WORKER_QUOTA", "-3")
    error = error_document(capsys, command, "--env", "staging")
    assert "PODKIT_WORKER_QUOTA" in error["message"]
    monkeypatch.delenv("PODKIT_WORKER_QUOTA")
    assert main(["plan", "--env", "staging"]) == 2  # nothing was applied


@pytest.mark.parametrize("verb", ["status", "wait"])
def test_a_mistyped_job_id_is_not_said_to_have_expired_only(
    project: Path, capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    assert main(["apply", "--env", "staging", "--yes"]) == 0
    capsys.readouterr()
    error = error_document(capsys, "job", verb, "no-such-job", "--env", "staging")
    assert "no-such-job" in error["message"] and "mistyped" in error["message"]
    assert "job id" in error["hint"]


def test_credentials_in_the_target_url_do_not_make_it_another_target(
    project: Path, local_runpod: LocalRunPod, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "--env", "staging", "--yes"]) == 0
    capsys.readouterr()
    credentialed = local_runpod.url.replace("http://", "http://proxy-user:proxy-pass@")
    assert main(["history", "--env", "staging", "--target", credentialed, "--json"]) == 0
    out = capsys.readouterr().out
    assert [r["number"] for r in json.loads(out)["records"]] == [1]
    assert "proxy-pass" not in out


def test_an_input_file_that_is_not_utf8_is_an_error_naming_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "--env", "staging", "--yes"]) == 0
    capsys.readouterr()
    binary = project / "input.json"
    binary.write_bytes(b"\xff\xfe{\x00}\x00")
    error = error_document(capsys, "run", "gpu_info", "--env", "staging", "--input", f"@{binary}")
    assert str(binary) in error["message"] and "UTF-8" in error["message"]


@pytest.mark.parametrize(
    ("option", "value", "bounds"),
    [
        ("--ttl", "0", "10s..7d"),
        ("--ttl", "30d", "10s..7d"),
        ("--execution-timeout", "99d", "5s..7d"),
        ("--execution-timeout", "1s", "5s..7d"),
    ],
)
def test_a_job_policy_the_platform_refuses_is_refused_before_any_request(
    project: Path,
    local_runpod: LocalRunPod,
    capsys: pytest.CaptureFixture[str],
    option: str,
    value: str,
    bounds: str,
) -> None:
    assert main(["apply", "--env", "staging", "--yes"]) == 0
    endpoint_id = _endpoint_id(capsys)
    error = error_document(capsys, "run", "gpu_info", "--env", "staging", option, value)
    assert error["kind"] == "ConfigError"
    assert f"{option} {value}" in error["message"] and bounds in error["message"]
    health = httpx.get(
        f"{local_runpod.url}/v2/{endpoint_id}/health",
        headers={"Authorization": f"Bearer {KEY}"},
        timeout=10,
    ).json()
    assert sum(health["jobs"].values()) == 0  # no job was submitted


def _endpoint_id(capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["job", "purge-queue", "--env", "staging", "--yes", "--json"]) == 0
    endpoint_id: str = json.loads(capsys.readouterr().out)["endpoint"]
    return endpoint_id


def test_purge_queue_without_a_terminal_refuses_without_yes(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["apply", "--env", "staging", "--yes"]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # piped: an answer, not a terminal
    error = error_document(capsys, "job", "purge-queue", "--env", "staging")
    assert "needs confirmation and stdin is not a terminal" in error["message"]
    assert "--yes" in error["hint"]
    assert main(["job", "purge-queue", "--env", "staging", "--yes", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["removed"] == 0


MODELS_ONLY = '[[models]]\nsource = "s3://canary-models/m"\ndestination = "models/m"\n'


def test_a_podkit_toml_saved_with_a_byte_order_mark_reads_on_every_models_sync_path(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Windows editors start a UTF-8 file with a BOM; every command reads it as the loader
    does: as a project file, or as a file of [[models]] only."""
    bom = "\ufeff"
    config = project / "podkit.toml"
    config.write_text(bom + config.read_text() + MODELS_ONLY, encoding="utf-8")
    assert main(["apply", "--env", "staging", "--yes"]) == 0
    code = main(["models", "sync", "--env", "staging", "--dry-run"])
    captured = capsys.readouterr()
    assert code in (0, 1, 2) and "Traceback" not in captured.err
    assert "no endpoint to sync on" not in captured.err  # read as the project file it is
    models = project / "models.toml"
    models.write_text(bom + MODELS_ONLY, encoding="utf-8")
    error = error_document(capsys, "models", "sync", "-c", str(models), "--dry-run")
    assert error["message"].startswith(f"no endpoint to sync on: {models} is not a project")
