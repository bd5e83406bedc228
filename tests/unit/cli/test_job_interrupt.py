"""Ctrl-C during `podkit run`: ask before cancelling the remote job, or say how to cancel it."""

from __future__ import annotations

import io

import httpx
import pytest

from podkit.cli.jobs import interrupted
from podkit.runpod.jobs import JobsClient


def _client(calls: list[str]) -> JobsClient:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        return httpx.Response(200, json={"id": "j1", "status": "CANCELLED"})

    return JobsClient(
        "ep1", api_key="k", base_url="http://127.0.0.1:9/v2", transport=httpx.MockTransport(handler)
    )


def test_without_a_terminal_the_job_is_left_running_and_the_command_shown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[str] = []
    assert interrupted(_client(calls), "j1", "local", interactive=False) is False
    assert calls == []
    err = capsys.readouterr().err
    assert "job j1 keeps running" in err
    assert "podkit job cancel j1 --endpoint ep1 --target local" in err


@pytest.mark.parametrize(("answer", "cancelled"), [("y\n", True), ("n\n", False)])
def test_on_a_terminal_the_user_decides(
    answer: str, cancelled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    calls: list[str] = []
    assert interrupted(_client(calls), "j1", None, interactive=True) is cancelled
    assert calls == (["POST /v2/ep1/cancel/j1"] if cancelled else [])


def test_interrupted_before_queueing_runs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[str] = []
    assert interrupted(_client(calls), None, None, interactive=True) is False
    assert calls == [] and "nothing runs remotely" in capsys.readouterr().err


def test_interrupted_during_the_submit_says_the_job_may_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[str] = []
    assert interrupted(_client(calls), None, None, interactive=True, submitting=True) is False
    err = capsys.readouterr().err
    assert calls == [] and "may be queued or running on endpoint ep1" in err
    assert "podkit health --endpoint ep1" in err
