"""Ctrl-C (SIGINT) to a real `podkit` process: exit 130, one line on stderr, and with `--json`
an error document on stdout; never a silent exit, never a traceback.

The process waits on a loopback server that accepts its connection and never answers, so the
interrupt lands where a slow RunPod would leave a user waiting.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.deploy.helpers import write_config

KEY = "rpa_INTERRUPT_canary_0123456789"
ROOT = Path(__file__).parents[3]


class Silent:
    """A loopback server that accepts connections and never answers; `accepted` is set at the
    first one."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.accepted = threading.Event()
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.held.append(connection)
            self.accepted.set()

    def close(self) -> None:
        self.server.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def silent() -> Iterator[Silent]:
    server = Silent()
    yield server
    server.close()


def _default_sigint() -> None:
    """A shell that started the tests in the background passes SIGINT on as ignored; a user's
    terminal never does."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _env(target: str) -> dict[str, str]:
    return {
        **os.environ,
        "PODKIT_TARGET": target,
        "RUNPOD_API_KEY": KEY,
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "200",
    }


def _interrupted_status(silent: Silent, folder: Path, *extra: str) -> tuple[int, str, str]:
    """`podkit status` blocked on the silent server, then Ctrl-C: (code, stdout, stderr)."""
    write_config(folder)
    cmd = [sys.executable, "-m", "podkit", "status", "--env", "staging", *extra]
    with subprocess.Popen(
        cmd,
        cwd=folder,
        env=_env(silent.url),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    ) as proc:
        assert silent.accepted.wait(timeout=60), "podkit never connected"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert KEY not in out + err and "Traceback" not in err, err
    return proc.returncode, out, err


def test_ctrl_c_while_waiting_says_interrupted_and_exits_130(
    silent: Silent, tmp_path: Path
) -> None:
    code, out, err = _interrupted_status(silent, tmp_path)
    assert code == 130
    assert err.strip() == "interrupted"
    assert out == ""


def test_ctrl_c_under_json_also_writes_the_error_document(silent: Silent, tmp_path: Path) -> None:
    code, out, err = _interrupted_status(silent, tmp_path, "--json")
    assert code == 130
    assert err.strip() == "interrupted"
    error = json.loads(out)["error"]
    assert error["kind"] == "Interrupted" and "interrupted" in error["message"]


def test_ctrl_c_while_the_commands_are_imported_is_no_traceback(tmp_path: Path) -> None:
    # SIGINT arrives in the middle of importing the commands, as on a slow first start.
    script = textwrap.dedent(
        """
        import os, signal, sys, time
        from importlib.abc import MetaPathFinder

        class CtrlC(MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "podkit.cli.app":
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(5)
                return None

        sys.meta_path.insert(0, CtrlC())
        sys.argv = ["podkit", "plan", "--json"]
        from podkit.cli.main import run
        run()
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=_env("http://127.0.0.1:9"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_default_sigint,
        check=False,
    )
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip() == "interrupted"
    assert json.loads(proc.stdout)["error"]["kind"] == "Interrupted"
