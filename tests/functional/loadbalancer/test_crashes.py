"""Workers that die: mid-request (the caller gets 502, a new worker takes over) and before
they ever serve (listed UNHEALTHY, restarted with a backoff, reported by `podkit health`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.loadbalancer.conftest import KEY, wait_until, workers

CreateLb = Callable[..., dict[str, Any]]


def test_a_worker_dying_mid_request_gets_502_and_is_replaced(
    api: httpx.Client, create_lb: CreateLb
) -> None:
    made = create_lb("lb-crash", workers={"min": 1, "max": 1, "idleTimeout": 60})
    base = made["requestUrls"]["base"]
    first = api.get(f"{base}/echo/x").json()["worker"]
    died = api.post(f"{base}/crash")
    assert died.status_code == 502
    assert died.json()["error"].startswith(f"worker {first} did not answer")
    after = api.get(f"{base}/echo/y")
    assert after.status_code == 200, after.text
    assert after.json()["worker"] != first
    listed = {w["id"]: w["status"] for w in workers(api, made["id"])}
    assert listed[first] == "UNHEALTHY"


def test_a_worker_that_never_starts_is_listed_unhealthy_and_reported(
    api: httpx.Client,
    create_lb: CreateLb,
    runpod: LocalRunPod,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    made = create_lb(
        "lb-no-start", workers={"min": 1, "max": 1, "idleTimeout": 60},
        env={"LB_EXIT_AT_START": "1"},
    )  # fmt: skip
    wait_until(
        lambda: [w for w in workers(api, made["id"]) if w["status"] == "UNHEALTHY"],
        what="a failed start listed UNHEALTHY",
    )
    monkeypatch.setenv("PODKIT_TARGET", runpod.url)
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    assert main(["health", "--endpoint", made["id"], "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["crash_loop"]
    assert any("LB_EXIT_AT_START" in finding for finding in report["findings"])
    # The backoff keeps restarts few: at most a handful listed, never one per tick.
    assert len(workers(api, made["id"])) <= 6
    api.delete(f"/v2/serverless/{made['id']}")
