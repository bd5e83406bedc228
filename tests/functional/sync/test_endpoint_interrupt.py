"""Ctrl-C during a remote `podkit models sync`: like `podkit run`, ask before cancelling the
job on the endpoint; without a terminal, leave it running and print the cancel command.

The local RunPod runs the real podkit worker; nginx's slow port keeps the sync running."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from podkit.cli._models_remote import sync_on_endpoint
from podkit.emulator.server import LocalRunPod
from podkit.errors import Interrupted
from podkit.runpod.job_types import JobStatus
from podkit.runpod.jobs import JobsClient, PollPolicy
from tests.functional.sync.test_endpoint import KEY, _endpoint
from tests.functional.sync.testbed import Nginx, write_hf_repo

pytest.importorskip("podkit.emulator.dataplane", reason="needs the local RunPod's data plane")

SIZE = 16 * 1024 * 1024  # 8 s at 2 MiB/s: still running when Ctrl-C comes


def _client(local_runpod: LocalRunPod, endpoint_id: str) -> JobsClient:
    poll = PollPolicy(initial=0.1, maximum=0.2, on_change=0.1)
    return JobsClient(endpoint_id, api_key=KEY, base_url=f"{local_runpod.url}/v2", poll=poll)


def _ctrl_c(_: dict[str, Any]) -> None:
    raise KeyboardInterrupt  # as if pressed while the CLI draws the first progress update


def _job(models: str) -> dict[str, Any]:
    source = {"source": f"hf://int/{models}", "destination": models}
    return {"models": [source], "connections": 1, "progress_every_s": 0.1}


@pytest.mark.parametrize(("answer", "final"), [("y\n", JobStatus.CANCELLED), ("n\n", None)])
def test_on_a_terminal_the_user_decides(
    answer: str,
    final: JobStatus | None,
    local_runpod: LocalRunPod,
    sync_nginx: Nginx,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_hf_repo(sync_nginx.www, "int/ask", {"w.safetensors": b"a" * SIZE})
    endpoint_id, _ = _endpoint(local_runpod, sync_nginx.slow_url)
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    with _client(local_runpod, endpoint_id) as client:
        with pytest.raises(Interrupted) as stopped:
            sync_on_endpoint(
                _job("ask"), client=client, target=None, on_progress=_ctrl_c, interactive=True
            )
        assert stopped.value.said  # the entry point adds no line; `podkit` exits 130
        asked = re.search(r"Cancel job (\S+) on endpoint (\S+)\?", capsys.readouterr().err)
        assert asked and asked[2] == endpoint_id
        job_id = asked[1]
        status = client.status(job_id).status
        if final is None:
            assert not status.terminal  # "n": the sync goes on remotely
            client.cancel(job_id)
        else:
            assert status is final


def test_without_a_terminal_the_cancel_command_is_printed(
    tmp_path: Path, local_runpod: LocalRunPod, sync_nginx: Nginx
) -> None:
    write_hf_repo(sync_nginx.www, "int/cli", {"w.safetensors": b"c" * SIZE})
    endpoint_id, volume = _endpoint(local_runpod, sync_nginx.slow_url)
    config = tmp_path / "podkit.toml"
    config.write_text('[[models]]\nsource = "hf://int/cli"\ndestination = "cli"\n')
    args = ["models", "sync", "-c", str(config), "--endpoint", endpoint_id]
    proc = subprocess.Popen(
        [sys.executable, "-m", "podkit", *args, "--target", local_runpod.url, "--json"],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "RUNPOD_API_KEY": KEY},
    )
    for _ in range(1200):  # the worker makes the destination when it starts fetching
        if (volume / "cli").is_dir() or proc.poll() is not None:
            break
        time.sleep(0.025)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    text = err.decode()
    assert proc.returncode == 130, text
    found = re.search(r"podkit job cancel (\S+) --endpoint (\S+) --target (\S+)`", text)
    assert found and found[2] == endpoint_id and found[3] == local_runpod.url, text
    assert "keeps running" in text and KEY not in text
    with _client(local_runpod, endpoint_id) as client:
        assert not client.status(found[1]).status.terminal
        client.cancel(found[1])
