"""`@-` reads an option's value from standard input, bounded like a file."""

from __future__ import annotations

import io
import sys

import pytest

from podkit.cli._jobs_common import parse_input
from podkit.errors import ConfigError


def stdin_of(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_input_at_dash_reads_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin_of(monkeypatch, b'{"path": "/runpod-volume"}')
    assert parse_input("@-", "list_files") == {"action": "list_files", "path": "/runpod-volume"}


def test_standard_input_past_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin_of(monkeypatch, b" " * 20_000_001)
    with pytest.raises(ConfigError, match="larger than 20 MB"):
        parse_input("@-", "list_files")
