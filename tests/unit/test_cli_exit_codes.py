"""The one exit-code policy of the CLI."""

from __future__ import annotations

import pytest

from podkit import __version__
from podkit.cli.main import main


def test_version_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_command_is_a_usage_error() -> None:
    assert main(["no-such-command"]) == 2
