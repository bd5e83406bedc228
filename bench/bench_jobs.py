"""Jobs benchmark: `podkit run`'s path (a short /runsync, then /status polling) against the SDK.

Against an in-process local RunPod with one warm real podkit worker. Two job lengths,
interleaved in the same run:
- a short job (`slow_steps`, no sleep): wall time per job, podkit's `JobsClient.execute`
  against the SDK's `Endpoint.run_sync` (server-side wait, no polling);
- a 3 s job: requests per job, podkit's backoff polling against the SDK's
  `Endpoint.run` + `Job.output(timeout=...)`, which polls `/status` once a second.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import runpod

from podkit.emulator.server import LocalRunPod
from podkit.runpod.jobs import JobsClient

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-jobs-key"
ROUNDS = 31
LONG_ROUNDS = 3
SHORT = {"action": "slow_steps", "steps": 1, "gap": 0}
LONG = {"action": "slow_steps", "steps": 3, "gap": 1.0}
# The SDK worker takes its next job on a 1 s tick once busy: a job sent the instant the last one
# ended waits for that tick, one sent after the tick is taken at once. Each short job starts
# after this pause, so neither client inherits the other's phase.
IDLE_S = 1.2


def _endpoint(rp: LocalRunPod) -> str:
    body = {
        "name": "bench-jobs",
        "type": "QUEUE",
        "image": "acme/worker:1",
        "gpu": {"pools": ["ADA_24"], "count": 1},
        "scaling": {"type": "QUEUE_DELAY", "queueDelay": 2},
        "workers": {"min": 1, "max": 1, "idleTimeout": 60},
        "env": {
            "PYTHONPATH": str(ROOT),
            "PODKIT_ACTIONS": "tests.functional.jobs.slow_actions",
            "PODKIT_SKIP_CPUINFO": "true",
        },
    }
    headers = {"Authorization": f"Bearer {KEY}"}
    created = httpx.post(f"{rp.url}/v2/serverless", json=body, headers=headers, timeout=30)
    created.raise_for_status()
    return str(created.json()["id"])


def _timed(fn: Callable[[], Any], *, idle: float = 0.0) -> float:
    time.sleep(idle)  # untimed
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _client_requests(rp: LocalRunPod, endpoint_id: str, fn: Callable[[], Any]) -> int:
    """Client data-plane requests for this endpoint while `fn` ran (the emulator's record;
    the worker protocol's own requests are on other paths and not counted)."""
    assert rp.recorder is not None
    before = len(rp.recorder.responses)
    fn()
    prefix = f"/v2/{endpoint_id}/"
    return sum(1 for r in rp.recorder.responses[before:] if r.path.startswith(prefix))


def main() -> None:
    with LocalRunPod(seed=11, record=True) as rp:
        endpoint_id = _endpoint(rp)
        runpod.api_key = KEY
        runpod.endpoint_url_base = f"{rp.url}/v2"
        sdk = runpod.Endpoint(endpoint_id)
        with JobsClient(endpoint_id, api_key=KEY, base_url=f"{rp.url}/v2") as ours:
            sdk.run_sync(SHORT, timeout=60)  # the worker is warm from here on
            podkit_s, sdk_s = [], []
            for _ in range(ROUNDS):
                podkit_s.append(_timed(lambda: ours.execute(SHORT), idle=IDLE_S))
                sdk_s.append(_timed(lambda: sdk.run_sync(SHORT, timeout=60), idle=IDLE_S))
            podkit_reqs, sdk_reqs = [], []
            for _ in range(LONG_ROUNDS):
                podkit_reqs.append(_client_requests(rp, endpoint_id, lambda: ours.execute(LONG)))
                sdk_reqs.append(
                    _client_requests(rp, endpoint_id, lambda: sdk.run(LONG).output(timeout=60))
                )
    short_p, short_s = statistics.median(podkit_s), statistics.median(sdk_s)
    print(f"short job, median of {ROUNDS} (s): podkit execute {short_p:.3f}, ", end="")
    print(f"SDK run_sync {short_s:.3f}, ratio {short_p / short_s:.2f}x")
    long_p, long_s = statistics.median(podkit_reqs), statistics.median(sdk_reqs)
    print(f"3 s job, requests per job (median of {LONG_ROUNDS}): podkit {long_p:.0f}, ", end="")
    print(f"SDK run + output(timeout) {long_s:.0f}, ratio {long_p / long_s:.2f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
