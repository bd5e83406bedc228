"""`podkit run` input and duration parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from podkit.cli._jobs_common import parse_duration, parse_input
from podkit.errors import ConfigError


def test_inline_and_file_input_are_merged_with_the_action(tmp_path: Path) -> None:
    assert parse_input('{"path": "/runpod-volume"}', "list_files") == {
        "action": "list_files",
        "path": "/runpod-volume",
    }
    file = tmp_path / "in.json"
    file.write_text('{"action": "list_files", "depth": 2}')
    assert parse_input(f"@{file}", "list_files") == {"action": "list_files", "depth": 2}
    assert parse_input(None, "gpu_info") == {"action": "gpu_info"}


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"action": "disk_usage"}', "drop `action`"),
        ("@/nonexistent/in.json", "cannot read --input file"),
    ],
)
def test_bad_input_says_what_to_do(raw: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        parse_input(raw, "gpu_info")


def test_durations() -> None:
    assert parse_duration("90", "--timeout") == 90
    assert parse_duration("10m", "--timeout") == 600
    assert parse_duration("1.5h", "--timeout") == 5400
    assert parse_duration("500ms", "--timeout") == 0.5
    assert parse_duration(None, "--timeout") is None
    with pytest.raises(ConfigError, match="--ttl"):
        parse_duration("soon", "--ttl")


def test_since_accepts_durations_and_timestamps() -> None:
    from podkit.cli.observe import since_timestamp

    assert since_timestamp("2026-06-01T12:00:00Z") == "2026-06-01T12:00:00Z"
    stamp = since_timestamp("10m")
    assert stamp is not None and stamp.endswith("Z") and "T" in stamp
    with pytest.raises(ConfigError, match="--since"):
        since_timestamp("yesterday")


def test_without_endpoint_or_podkit_toml_the_error_says_what_to_pass(tmp_path: Path) -> None:
    from podkit.cli._jobs_common import resolve_endpoint

    assert resolve_endpoint("ep1", None, tmp_path / "podkit.toml", None) == "ep1"
    with pytest.raises(ConfigError, match="no --endpoint given") as info:
        resolve_endpoint(None, "staging", tmp_path / "podkit.toml", None)
    assert info.value.hint is not None and "--endpoint ID" in info.value.hint
