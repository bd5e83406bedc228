"""Ctrl-C (SIGINT) to a real `podkit run` process while its job runs on the local RunPod.

On a terminal (stdin and stderr on a pseudo-terminal) podkit asks whether to cancel the job:
"y" cancels it remotely, "n" leaves it running and says how to cancel it. Without a terminal
it never asks: it names the job that keeps running and the command that cancels it. Either
way the exit code is 130 and the user is never told that nothing runs when a job does.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from podkit.emulator.server import LocalRunPod
from podkit.runpod.job_target import dataplane_url
from podkit.runpod.job_types import JobStatus
from podkit.runpod.jobs import JobsClient
from tests.functional.jobs.conftest import SECRET_KEY, create_endpoint

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LONG_JOB = '{"steps": 120, "gap": 0.5}'  # a minute of work: it is still running at Ctrl-C


@pytest.fixture(scope="module")
def endpoint(runpod_local: LocalRunPod) -> str:
    return create_endpoint(runpod_local, "sigint", workers_min=1, workers_max=1)


def _command(runpod: LocalRunPod, endpoint: str) -> list[str]:
    return [
        sys.executable, "-m", "podkit", "run", "slow_steps", "--endpoint", endpoint,
        "--target", runpod.url, "--execution-timeout", "120s", "--input", LONG_JOB,
    ]  # fmt: skip


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM", "COLUMNS")}
    return env | {"RUNPOD_API_KEY": SECRET_KEY, "TERM": "xterm", "COLUMNS": "200"}


def _default_sigint() -> None:
    """A shell that started the tests in the background passes SIGINT on as ignored; a user's
    terminal never does, so give the child the default (KeyboardInterrupt) behaviour."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _client(runpod: LocalRunPod, endpoint: str) -> JobsClient:
    return JobsClient(endpoint, api_key=SECRET_KEY, base_url=dataplane_url(runpod.url))


class Terminal:
    """A pseudo-terminal: what the process wrote (ANSI stripped), and a way to type."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.raw = b""

    @property
    def text(self) -> str:
        # Stripped as a whole: an escape sequence may arrive split across two reads.
        return ANSI.sub("", self.raw.decode(errors="replace"))

    def read_until(self, pattern: str, proc: subprocess.Popen[bytes], limit: float) -> str:
        """Read until `pattern` (a regex) appears; the bound is a safety net, not a timing."""
        deadline = time.monotonic() + limit
        while not (found := re.search(pattern, self.text)):
            assert time.monotonic() < deadline, f"no {pattern!r} in:\n{self.text[-2000:]}"
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.raw += os.read(self.master, 65536)
                except OSError:  # the process closed its side
                    assert proc.poll() is not None
            elif proc.poll() is not None:
                raise AssertionError(f"podkit exited {proc.returncode} first:\n{self.text[-2000:]}")
        return found[0]

    def drain(self) -> None:
        """Everything the exited process left (EOF shows once no process holds the slave)."""
        while select.select([self.master], [], [], 5)[0]:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.raw += chunk

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def detach(self) -> None:
        """Close this side's copy of the slave once the child has it."""
        if self.slave >= 0:
            os.close(self.slave)
            self.slave = -1

    def close(self) -> None:
        self.detach()
        os.close(self.master)


Reader = Callable[[str, "subprocess.Popen[bytes]", float], str]


def _wait_running(read: Reader, proc: subprocess.Popen[bytes]) -> str:
    queued = re.search(r"job (\S+) queued", read(r"job \S+ queued", proc, 60))
    assert queued is not None
    read(r"step \d+/120", proc, 60)  # progress is sampled by polling: any step will do
    return queued[1]


@pytest.mark.parametrize("answer", ["y", "n"])
def test_on_a_terminal_ctrl_c_asks_and_the_answer_decides(
    runpod_local: LocalRunPod, endpoint: str, answer: str
) -> None:
    term = Terminal()
    proc = subprocess.Popen(
        _command(runpod_local, endpoint),
        stdin=term.slave, stdout=term.slave, stderr=term.slave, env=_env(),
        start_new_session=True, preexec_fn=_default_sigint,
    )  # fmt: skip
    term.detach()
    try:
        job_id = _wait_running(term.read_until, proc)
        proc.send_signal(signal.SIGINT)
        asked = term.read_until(rf"Cancel job {job_id} on endpoint {endpoint}\?", proc, 60)
        assert asked
        term.type(answer + "\n")
        assert proc.wait(timeout=60) == 130
        term.drain()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        term.close()
    with _client(runpod_local, endpoint) as client:
        status = client.status(job_id).status
        if answer == "y":
            assert status is JobStatus.CANCELLED
            assert f"job {job_id}: CANCELLED" in term.text
        else:
            assert not status.terminal, status
            assert f"job {job_id} keeps running on endpoint {endpoint}" in term.text
            assert f"podkit job cancel {job_id} --endpoint {endpoint}" in term.text
            client.cancel(job_id)
    assert "nothing runs remotely" not in term.text
    assert SECRET_KEY not in term.text


def test_without_a_terminal_ctrl_c_names_the_job_that_keeps_running(
    runpod_local: LocalRunPod, endpoint: str
) -> None:
    proc = subprocess.Popen(
        _command(runpod_local, endpoint),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(),
        preexec_fn=_default_sigint,
    )  # fmt: skip
    seen = ""

    def read(pattern: str, proc: subprocess.Popen[bytes], limit: float) -> str:
        nonlocal seen
        assert proc.stderr is not None
        deadline = time.monotonic() + limit
        while not (found := re.search(pattern, seen)):
            assert time.monotonic() < deadline, f"no {pattern!r} in:\n{seen[-2000:]}"
            line = proc.stderr.readline()
            assert line, f"podkit closed stderr first:\n{seen}"
            seen += line.decode()
        return found[0]

    try:
        job_id = _wait_running(read, proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    text = seen + err.decode()
    assert proc.returncode == 130, text
    assert "Cancel job" not in text  # never asks without a terminal
    assert f"job {job_id} keeps running on endpoint {endpoint}" in text
    cancel = f"podkit job cancel {job_id} --endpoint {endpoint} --target {runpod_local.url}"
    assert cancel in text
    assert "nothing runs remotely" not in text
    assert out == b""
    assert SECRET_KEY not in text
    with _client(runpod_local, endpoint) as client:
        assert not client.status(job_id).status.terminal
        assert client.cancel(job_id).status is JobStatus.CANCELLED
