"""Command-line values and files that would end in a traceback, a hang or a request somewhere
else: `--input`, `--since`, `--markdown`, `podkit request` paths, `init` names, `--target`.
Each one is a ConfigError naming the option (or the file) before any request is made."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest

from podkit.cli._jobs_common import parse_input
from podkit.cli.observe import since_timestamp
from podkit.cli.smoke_run import check_report_paths
from podkit.errors import ConfigError
from podkit.runpod.lb_requests import request_path
from podkit.runpod.target import resolve_target
from podkit.scaffold.project import explicit_name, find_handler


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ('{"a": NaN}', "NaN"),
        ('{"a": [Infinity]}', "Infinity"),
        ('{"a": -Infinity}', "-Infinity"),
        ('{"a": 1e400}', "1e400"),
        ('{"a": {"b": -2.5e999}}', "-2.5e999"),
    ],
)
def test_input_numbers_that_json_cannot_carry_are_refused_naming_input(
    raw: str, shown: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_input(raw, "gpu_info")
    assert caught.value.message.startswith(f"--input holds {shown}, which is no JSON number")


def test_plain_numbers_in_input_still_pass() -> None:
    assert parse_input('{"a": 1.5e300, "b": -0.0, "c": 10}', None) == {"a": 1.5e300, "b": -0.0,
                                                                        "c": 10}  # fmt: skip


def test_input_nested_too_deeply_is_refused_inline_and_from_a_file(tmp_path: Path) -> None:
    deep = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(ConfigError, match=r"^--input is nested too deeply"):
        parse_input(deep, "gpu_info")
    file = tmp_path / "in.json"
    file.write_text(deep)
    with pytest.raises(ConfigError, match=rf"^--input file {file} is nested too deeply"):
        parse_input(f"@{file}", "gpu_info")


def feed(fifo: Path, text: str) -> None:
    """Write to a pipe once a reader opens it (one that reads nothing breaks the pipe)."""
    with contextlib.suppress(BrokenPipeError):
        fifo.write_text(text)


def test_an_input_file_that_is_a_pipe_or_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--input file .* is a directory, not a file"):
        parse_input(f"@{tmp_path}", "gpu_info")
    fifo = tmp_path / "in.json"
    os.mkfifo(fifo)
    # A writer, so that a reader which waits on the pipe gets its text and ends.
    writer = threading.Thread(target=feed, args=(fifo, "{}"), daemon=True)
    writer.start()
    try:
        with pytest.raises(ConfigError, match=r"--input file .* is a named pipe \(FIFO\)"):
            parse_input(f"@{fifo}", "gpu_info")
    finally:
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # lets the writer go
        writer.join(timeout=5)


@pytest.mark.parametrize(
    "since",
    ["800000d", "2024-13-45T99:00:00Z", "2024-02-30T10:00:00Z", "0001-01-01T00:00:00+01:00"],
)
def test_since_values_that_are_no_time_are_refused_naming_since(since: str) -> None:
    with pytest.raises(ConfigError) as caught:
        since_timestamp(since)
    assert caught.value.message.startswith(f"--since {since!r} is not a time podkit can read")


def test_since_timestamps_are_sent_in_utc() -> None:
    assert since_timestamp("2026-06-01T12:00:00+02:00") == "2026-06-01T10:00:00Z"
    assert since_timestamp("2026-06-01T12:00:00Z") == "2026-06-01T12:00:00Z"


def test_a_markdown_path_that_cannot_take_the_report_is_refused_before_tests_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    with pytest.raises(ConfigError, match=rf"^--markdown {tmp_path} is a directory, not a file"):
        check_report_paths(tmp_path)
    with pytest.raises(ConfigError, match=r"^--markdown .*: no directory .*missing"):
        check_report_paths(tmp_path / "missing" / "smoke.md")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path))
    with pytest.raises(ConfigError, match=r"^\$GITHUB_STEP_SUMMARY .* is a directory"):
        check_report_paths(None)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    check_report_paths(tmp_path / "smoke.md")  # new files in a directory that exists: fine
    assert not (tmp_path / "summary.md").exists()


@pytest.mark.parametrize(
    "path", ["/../../v2/serverless", "/a/%2e%2e/v2", "/a/%2E/b", "x/..%2fy", "/a\\..\\b", ".."]
)
def test_a_request_path_that_climbs_out_of_the_endpoint_is_refused(path: str) -> None:
    with pytest.raises(ConfigError, match=r"has a '\.' or '\.\.' segment"):
        request_path(path)


def test_ordinary_request_paths_pass() -> None:
    assert request_path("health") == "/health"
    assert request_path("/v1/a..b/c?next=../x") == "/v1/a..b/c?next=../x"


@pytest.mark.parametrize(
    ("name", "suggested"),
    [("Bad Name", "e.g. --name bad-name"), ("a" * 50, "e.g. --name " + "a" * 40), ("!!", "")],
)
def test_an_explicit_init_name_that_is_not_valid_is_refused_not_changed(
    name: str, suggested: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        explicit_name(name)
    message = caught.value.message
    assert message.startswith("--name ") and "lowercase letters, digits and '-' (at most 40" in (
        message
    )
    assert suggested in message
    assert explicit_name("my-worker-2") == "my-worker-2"


def test_init_into_a_name_the_system_refuses_is_a_worded_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        find_handler(tmp_path / ("a" * 300))
    assert "cannot create a project there (File name too long)" in caught.value.message
    assert "(" in caught.value.message and "characters)" in caught.value.message


@pytest.mark.parametrize(
    "target",
    ["http://127.0.0.1:9/#access_token=SECRETX", "http://127.0.0.1:9/?token=SECRETX&a=b"],
)
def test_a_target_with_a_query_or_fragment_is_refused_without_showing_them(target: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_target(target, {})
    assert "SECRETX" not in str(caught.value)
    assert "'http://127.0.0.1:9/' carries a query string or fragment" in caught.value.message
