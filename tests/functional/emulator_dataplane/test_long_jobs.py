"""Jobs of every handler shape complete, however long the handler blocks its worker.

A sync handler (and a sync generator between chunks) blocks the SDK worker's event loop; the
result then goes out on a pooled connection that sat idle for the whole job. All nine jobs run
at once on their own data plane, so the suite waits about one minute for them together.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podkit.emulator.dataplane import FINAL_STATES
from tests.functional.emulator_dataplane.conftest import FAST
from tests.functional.emulator_dataplane.harness import Served, serve_dataplane, wait_until

SECONDS = (60.0, 6.0, 0.1)  # longest first: it gets a worker of its own
POLICY = {"executionTimeout": 180_000}


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    state_dir: Path = tmp_path_factory.mktemp("long-jobs")
    with serve_dataplane(state_dir, settings=FAST) as running:
        yield running


def _input(mode: str, seconds: float) -> dict[str, Any]:
    if mode == "stream":  # the handler blocks between chunks for the whole job
        chunks = 6 if seconds > 10 else 1 if seconds > 1 else 2
        return {"chunks": chunks, "gap": seconds / chunks}
    return {"sleep": seconds, "echo": f"{mode}-{seconds}"}


def _final(served: Served, endpoint: str, job_id: str) -> dict[str, Any] | None:
    with served.client() as client:
        body: dict[str, Any] = client.get(f"/v2/{endpoint}/status/{job_id}").json()
    return body if body["status"] in FINAL_STATES else None


def test_sync_async_and_streaming_handlers_of_0_1_6_and_60_s_complete(plane: Served) -> None:
    # Sync handlers run one job per worker; the async worker takes all three at once.
    plane.endpoint("sync", workers_max=2, env={"ECHO_MODE": "sync"})
    plane.endpoint("stream", workers_max=2, env={"ECHO_MODE": "stream"})
    plane.endpoint("async", workers_max=1, env={"ECHO_MODE": "async", "ECHO_CONCURRENCY": "3"})
    jobs: dict[tuple[str, float], str] = {}
    with plane.client() as client:
        for mode in ("sync", "stream", "async"):
            for seconds in SECONDS:
                body = {"input": _input(mode, seconds), "policy": POLICY}
                jobs[mode, seconds] = client.post(f"/v2/{mode}/run", json=body).json()["id"]
    finals = {
        key: wait_until(lambda key=key: _final(plane, key[0], jobs[key]), timeout=150, every=0.5)
        for key in jobs
    }
    assert {key: body["status"] for key, body in finals.items()} == dict.fromkeys(jobs, "COMPLETED")
    with plane.client() as client:
        for (mode, seconds), body in finals.items():
            if mode == "stream":
                chunks = _input(mode, seconds)["chunks"]
                read = client.get(f"/v2/stream/stream/{jobs[mode, seconds]}").json()
                assert [c["output"] for c in read["stream"]] == [
                    f"chunk-{i}" for i in range(chunks)
                ]
            else:
                assert body["output"]["echo"] == f"{mode}-{seconds}"
