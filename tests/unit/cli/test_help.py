"""Every command's and option's help text reaches `--help` whole.

Help goes through rich markup, where `[env.NAME]` or `[[models]]` would be taken for a tag and
silently dropped; this renders each command's help as a user sees it and looks for each text.
"""

from __future__ import annotations

import re

import pytest
import typer
from typer._click import Command
from typer.core import TyperGroup

from podkit.cli.app import app
from podkit.cli.main import main

_BOX = re.compile(r"[│╭╮╰╯─]+")


def _flat(text: str) -> str:
    return " ".join(_BOX.sub(" ", text).split())


def _commands(
    command: Command, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], Command]]:
    found = [(path, command)]
    if isinstance(command, TyperGroup):
        for name, sub in sorted(command.commands.items()):
            found += _commands(sub, (*path, name))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_the_walk_reaches_nested_commands() -> None:
    paths = {" ".join(path) for path, _ in COMMANDS}
    assert {"plan", "models sync", "ci summary", "job cancel"} <= paths


@pytest.mark.parametrize(
    "path,command", COMMANDS, ids=[" ".join(p) or "podkit" for p, _ in COMMANDS]
)
def test_each_help_text_is_shown_whole(
    path: tuple[str, ...],
    command: Command,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert main([*path, "--help"]) == 0
    shown = _flat(capsys.readouterr().out)
    helps = [command.help, *(getattr(param, "help", None) for param in command.params)]
    for text in filter(None, helps):
        assert _flat(text.replace("\\[", "[")) in shown, f"{' '.join(path)}: {text!r}"
