"""A target that answers 200 with something other than the RunPod API's document (a proxy's
or a login page, bytes that are not text, JSON of another shape, nothing): every command ends
with one error line and exit 1: never a traceback, and never an empty list read as "nothing
deployed"."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from podkit.cli.main import main

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


class _Foreign:
    """Answers every request, whatever its method and path, 200 with `body`."""

    def __init__(self) -> None:
        self.body = b""
        foreign = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Length", str(len(foreign.body)))
                self.end_headers()
                self.wfile.write(foreign.body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def foreign() -> Iterator[_Foreign]:
    server = _Foreign()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.mark.parametrize("answer", sorted(BODIES))
def test_every_command_ends_in_one_error_line_on_a_foreign_answer(
    foreign: _Foreign,
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
