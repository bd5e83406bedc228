"""One local RunPod per module with short load-balancer limits, and LB endpoints on it."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from podkit.emulator.loadbalancer import LoadBalancerSettings
from podkit.emulator.server import LocalRunPod

KEY = "lb-test-key"
WORKER = [sys.executable, str(Path(__file__).with_name("lb_worker.py"))]
FAST = LoadBalancerSettings(
    no_worker_wait_s=8.0,
    request_timeout_s=4.0,
    max_payload_bytes=100_000,
    health_interval_s=0.1,
    stop_grace_s=2.0,
)


@pytest.fixture(scope="module")
def runpod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRunPod]:
    with LocalRunPod(
        state_dir=tmp_path_factory.mktemp("lb"),
        worker_command=WORKER,
        loadbalancer_settings=FAST,
        quota=40,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def api(runpod: LocalRunPod) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=runpod.url, headers=headers, timeout=60) as client:
        yield client


def lb_body(name: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "type": "LOAD_BALANCER",
        "image": "acme/lb:1",
        "gpu": {"pools": ["ADA_24"]},
        "scaling": {"type": "REQUEST_COUNT", "requestCount": 1},
        "workers": {"min": 0, "max": 2, "idleTimeout": 1},
        "ports": ["8000/http"],
        "env": {},
    }
    body.update(overrides)
    return body


@pytest.fixture(scope="module")
def create_lb(api: httpx.Client) -> Callable[..., dict[str, Any]]:
    def create(name: str, **overrides: Any) -> dict[str, Any]:
        made = api.post("/v2/serverless", json=lb_body(name, **overrides))
        assert made.status_code == 201, made.text
        endpoint: dict[str, Any] = made.json()
        return endpoint

    return create


def wait_until(check: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll `check` (bounded in time) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def workers(api: httpx.Client, endpoint_id: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = api.get(f"/v2/serverless/{endpoint_id}/workers").json()[
        "workers"
    ]
    return listed
