"""A target that answers 200 with something other than the RunPod API's document (a proxy's
or a login page, bytes that are not text, JSON of another shape, nothing): every command ends
with one error line and exit 1: never a traceback, and never an empty list read as "nothing
deployed"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from podkit.cli.main import main
from tests.functional.answering import Answering, answering

BODIES = {
    "login page": b"<!doctype html><html><body><form>Sign in</form></body></html>",
    "not text": b"\xff\xfe\x00\x81binary",
    "nothing": b"",
    "a json list": b"[1, 2, 3]",
    "json of another shape": b'{"id": 5, "status": ["x"], "items": "x", "timeout": "soon"}',
}
CONFIG = """\
project = "foreign"

[image]
ref = "ghcr.io/acme/worker:1@sha256:{digest}"

[endpoint]
gpu_types = ["NVIDIA GeForce RTX 4090"]

[[smoke]]
name = "gpu"
input = {{ action = "gpu_info" }}
expect_keys = ["gpus"]
max_execution = "20s"

[[models]]
source = "https://example.com/w.bin"
destination = "models"
""".format(digest="a" * 64)
COMMANDS = [
    ("plan", "--no-models"),
    ("plan", "--no-models", "--api", "v1"),
    ("apply", "--yes", "--api", "v1"),
    ("status", "--api", "v1"),
    ("logs", "--endpoint", "ep-1"),
    ("test", "--endpoint", "ep-1"),
    ("request", "GET", "/ping", "--endpoint", "ep-1"),
    ("status", "--json"),
    ("apply", "--yes"),
    ("destroy", "--yes"),
    ("health", "--endpoint", "ep-1"),
    ("run", "gpu_info", "--endpoint", "ep-1"),
    ("run", "gpu_info", "--endpoint", "ep-1", "--async", "--json"),
    ("job", "status", "job-1", "--endpoint", "ep-1"),
    ("job", "cancel", "job-1", "--endpoint", "ep-1"),
    ("job", "retry", "job-1", "--endpoint", "ep-1", "--json"),
    ("models", "sync", "--dry-run", "--endpoint", "ep-1"),
]


@pytest.fixture(scope="module")
def foreign() -> Iterator[Answering]:
    with answering() as running:
        yield running


@pytest.mark.parametrize("answer", sorted(BODIES))
def test_every_command_ends_in_one_error_line_on_a_foreign_answer(
    foreign: Answering,
    answer: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    foreign.body = BODIES[answer]
    (tmp_path / "podkit.toml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PODKIT_TARGET", foreign.url)
    monkeypatch.setenv("RUNPOD_API_KEY", "rpa_foreign_key_0123456789")
    monkeypatch.setenv("HOME", str(tmp_path))
    for argv in COMMANDS:
        code = main(list(argv))  # an exception here is the defect: it would be a traceback
        _, err = capsys.readouterr()
        assert code == 1 and "error:" in err, (argv, code, err)
