"""The whole local RunPod (control plane, data plane, real podkit SDK workers) for job tests.

One instance for this package: worker processes take a moment to start and to stop, so the
job tests share it (each test makes its own endpoints). Like the shared `local_runpod`
fixture, it checks every response against the OpenAPI documents at teardown.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from podkit.emulator.openapi.responses import response_problems
from podkit.emulator.server import LocalRunPod

ROOT = Path(__file__).resolve().parents[3]
SECRET_KEY = "rpa_jobs_test_SECRET_9f3c"
WORKER_ENV = {
    "PYTHONPATH": str(ROOT),
    "PODKIT_ACTIONS": "tests.functional.jobs.slow_actions",
    "PODKIT_SKIP_CPUINFO": "true",
}


@pytest.fixture(scope="package")
def runpod_local() -> Iterator[LocalRunPod]:
    # One local RunPod serves the package's tests, whose endpoints add up (the account's
    # default worker quota of 5 would make a test's outcome depend on which ran before it).
    with LocalRunPod(seed=4321, record=True, quota=200) as runpod:
        yield runpod
    assert runpod.recorder is not None
    problems = [
        problem
        for r in runpod.recorder.responses
        for problem in response_problems(r.method, r.path, r.status, r.content_type, r.body)
    ]
    if problems:
        pytest.fail("responses that break the OpenAPI documents:\n" + "\n".join(problems))


@pytest.fixture
def cli_env(runpod_local: LocalRunPod, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI pointed at the local RunPod with a key that must never be printed."""
    monkeypatch.setenv("RUNPOD_API_KEY", SECRET_KEY)
    monkeypatch.setenv("PODKIT_TARGET", runpod_local.url)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return runpod_local.url


def api(runpod: LocalRunPod) -> httpx.Client:
    headers = {"Authorization": f"Bearer {SECRET_KEY}"}
    return httpx.Client(base_url=runpod.url, headers=headers, timeout=30)


def create_endpoint(
    runpod: LocalRunPod,
    name: str,
    *,
    workers_min: int = 0,
    workers_max: int = 1,
    timeout_ms: int | None = None,
    files: dict[str, bytes] | None = None,
) -> str:
    """A v2 endpoint running the real podkit worker (plus the test actions); its id.

    `files` go onto a network volume attached to the endpoint (the worker's /runpod-volume).
    """
    body: dict[str, Any] = {
        "name": name,
        "type": "QUEUE",
        "image": "acme/worker:1",
        "gpu": {"pools": ["ADA_24"], "count": 1},
        "scaling": {"type": "QUEUE_DELAY", "queueDelay": 2},
        "workers": {"min": workers_min, "max": workers_max, "idleTimeout": 60},
        "env": WORKER_ENV,
    }
    if timeout_ms is not None:
        body["timeout"] = timeout_ms
    with api(runpod) as client:
        if files is not None:
            volume = client.post(
                "/v2/network-volumes", json={"name": name, "size": 10, "dataCenter": "US-KS-2"}
            )
            assert volume.status_code in (200, 201), volume.text
            root = runpod.backend.volume_dir(volume.json()["id"])
            for relative, content in files.items():
                (root / relative).parent.mkdir(parents=True, exist_ok=True)
                (root / relative).write_bytes(content)
            body["networkVolumes"] = [volume.json()["id"]]
            body["dataCenterIds"] = ["US-KS-2"]
        created = client.post("/v2/serverless", json=body)
    assert created.status_code in (200, 201), created.text
    return str(created.json()["id"])
