"""`podkit logs` over the local RunPod's v2 worker-log stream (real SSE on loopback).

The workers behind the stream come from the emulator's worker-view seam, holding the lines a
supervisor would have captured.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

import httpx
import pytest

from podkit._http import HttpClient
from podkit.cli.main import main
from podkit.emulator.runtime import LogLine, WorkerInfo
from podkit.emulator.server import LocalRunPod
from podkit.runpod.worker_logs import WorkerLogs

KEY = "rpa_logs_test_SECRET_51de"


@dataclass
class Workers:
    """Workers and their captured lines; `add` appends a line as a live worker would."""

    listed: list[WorkerInfo] = field(default_factory=list)
    lines: dict[str, list[LogLine]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def workers(self, endpoint_id: str) -> list[WorkerInfo]:
        return list(self.listed)

    def logs(self, endpoint_id: str, worker_id: str) -> list[LogLine] | None:
        with self.lock:
            found = self.lines.get(worker_id)
            return None if found is None else list(found)

    def add(self, worker_id: str, text: str, source: str = "container") -> None:
        with self.lock:
            own = self.lines.setdefault(worker_id, [])
            own.append(LogLine(len(own), time.time(), source, text))


@pytest.fixture
def endpoint(local_runpod: LocalRunPod, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Workers]:
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    monkeypatch.setenv("PODKIT_TARGET", local_runpod.url)
    body = {
        "name": "logs",
        "type": "QUEUE",
        "image": "img:1",
        "gpu": {"pools": ["ADA_24"]},
        "scaling": {"type": "QUEUE_DELAY", "queueDelay": 2},
    }
    headers = {"Authorization": f"Bearer {KEY}"}
    created = httpx.post(f"{local_runpod.url}/v2/serverless", json=body, headers=headers).json()
    now = time.time()
    view = Workers(listed=[WorkerInfo("w-a", "RUNNING", 1, now), WorkerInfo("w-b", "IDLE", 1, now)])
    for index in range(5):
        view.add("w-a", f"a line {index}")
    view.add("w-b", "start container", source="system")
    view.add("w-b", "Worker ready.")
    local_runpod.context.worker_view = view
    return created["id"], view


def test_logs_of_one_worker_and_of_all(
    endpoint: tuple[str, Workers], capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint_id, _ = endpoint
    assert main(["logs", "--endpoint", endpoint_id, "--worker", "w-a", "--tail", "2"]) == 0
    one = capsys.readouterr().out
    assert "a line 3" in one and "a line 4" in one and "a line 2" not in one

    assert main(["logs", "--endpoint", endpoint_id, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {(r["worker"], r["line"]) for r in rows} >= {
        ("w-a", "a line 0"),
        ("w-b", "Worker ready."),
    }
    assert [(r["source"], r["line"]) for r in rows if r["worker"] == "w-b"] == [
        ("system", "start container"),
        ("container", "Worker ready."),
    ]


def test_unknown_worker_says_logs_end_with_the_container(
    endpoint: tuple[str, Workers], capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint_id, _ = endpoint
    assert main(["logs", "--endpoint", endpoint_id, "--worker", "w-gone"]) == 1
    err = capsys.readouterr().err
    assert "404" in err and "podkit health" in err and KEY not in err


def test_follow_delivers_new_lines_as_they_are_written(
    local_runpod: LocalRunPod, endpoint: tuple[str, Workers]
) -> None:
    endpoint_id, view = endpoint
    seen: list[str] = []
    with HttpClient(local_runpod.url) as http:
        logs = WorkerLogs(http, KEY, endpoint_id)
        writer = threading.Timer(0.5, view.add, args=("w-a", "live line"))
        writer.start()
        for entry in logs.follow("w-a", tail=1, stop=lambda: "live line" in seen):
            seen.append(entry.line)
        writer.join()
    assert seen == ["a line 4", "live line"]


def test_a_one_shot_read_of_a_busy_worker_ends_and_shows_only_tail_lines(
    endpoint: tuple[str, Workers], capsys: pytest.CaptureFixture[str]
) -> None:
    # A worker that logs all the time never lets its stream go quiet.
    endpoint_id, view = endpoint
    done = threading.Event()

    def chatter() -> None:
        count = 0
        while not done.wait(0.1) and count < 300:  # bounded: 30 s at most
            view.add("w-a", f"busy line {count}")
            count += 1

    writer = threading.Thread(target=chatter, daemon=True)
    writer.start()
    try:
        code = main(["logs", "--endpoint", endpoint_id, "--worker", "w-a", "--tail", "2", "--json"])
        ended_while_busy = not done.is_set() and writer.is_alive()
    finally:
        done.set()
        writer.join()
    assert code == 0 and ended_while_busy
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2


def test_a_long_log_line_stays_one_line_for_grep(
    endpoint: tuple[str, Workers], capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint_id, view = endpoint
    long_line = "rp_job | get_job: http://127.0.0.1:1/_worker/job-take/" + "x" * 120
    view.add("w-a", long_line)
    assert main(["logs", "--endpoint", endpoint_id, "--worker", "w-a", "--tail", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].endswith(long_line)
