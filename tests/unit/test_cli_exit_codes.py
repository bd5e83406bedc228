"""The one exit-code policy of the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup

from podkit import __version__
from podkit.cli.app import app
from podkit.cli.exit_codes import SPECIAL, codes_of
from podkit.cli.main import main


def test_version_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["no-such-command"],
        ["plan", "--no-such-option"],
        ["plan", "--worker-quota", "many"],
        ["plan", "--api", "v3"],
        ["plan", "--models-timeout", "1 hour"],
        ["models", "sync", "--timeout", "soon"],
        ["job", "status", "../etc", "--endpoint", "abc"],
        ["job", "status", "abc", "--endpoint", "a/b"],
    ],
)
def test_a_usage_error_exits_1_never_2(argv: list[str]) -> None:
    """2 is `plan`'s "changes" code: a CI step that reads 2 as "carry on" must never see
    it for a mistyped command line."""
    assert main(argv) == 1


def test_a_usage_error_under_json_is_a_json_document_on_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plan", "--json", "--no-such-option"]) == 1
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["kind"] == "UsageError"
    assert "--no-such-option" in error["message"]
    assert error["hint"] == "see `podkit plan --help`"


def test_a_bad_duration_names_the_option_and_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "sync", "--timeout", "1 hour"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "--timeout: '1 hour' is not a duration; write plain seconds (90) or a number" in err


def _commands(group: TyperGroup, prefix: str = "") -> list[str]:
    paths = []
    for name, command in group.commands.items():
        if isinstance(command, TyperGroup):
            paths += _commands(command, f"{prefix}{name} ")
        else:
            paths.append(f"{prefix}{name}")
    return paths


def test_every_commands_help_lists_its_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    paths = _commands(root)
    assert {"plan", "apply", "run", "job wait", "models sync", "health"} <= set(paths)
    for path in paths:
        assert main([*path.split(), "--help"]) == 0
        out = " ".join(capsys.readouterr().out.split())
        for code, meaning in codes_of(path).items():
            assert f"{code}: {meaning}" in out, (path, code)
    assert codes_of("plan")[2] == "the plan has changes"
    assert 2 not in codes_of("apply")


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


def test_the_readme_lists_the_commands_with_codes_of_their_own() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("### Exit codes") :]
    rows = [line for line in table.splitlines() if line.startswith("| `podkit ")]
    rows.append(next(line for line in table.splitlines() if "every other command" in line))
    for path, codes in SPECIAL.items():
        row = next(line for line in rows if f"`podkit {path}`" in line)
        for code in codes:
            assert code in (0, 1, 2) or f"{code} " in row, (path, code)
    for row in rows:  # the codes every command has (Ctrl-C's 130)
        for code in codes_of("every other command"):
            assert code in (0, 1, 2) or f"{code} " in row, (row, code)
