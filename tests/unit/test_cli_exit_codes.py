"""The one exit-code policy of the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podkit import __version__
from podkit.cli.main import main


def test_version_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_command_is_a_usage_error() -> None:
    assert main(["no-such-command"]) == 2


def test_an_error_under_json_is_also_a_json_document_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "podkit.toml"
    assert main(["plan", "--json", "--config", str(missing)]) == 1
    captured = capsys.readouterr()
    error = json.loads(captured.out)["error"]
    assert error["kind"] == "ConfigError"
    assert str(missing) in error["message"]
    assert "error:" in captured.err  # people still read stderr


def test_an_error_without_json_keeps_stdout_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--config", str(tmp_path / "podkit.toml")]) == 1
    assert capsys.readouterr().out == ""
