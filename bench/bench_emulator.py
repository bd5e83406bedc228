"""Local RunPod data plane: jobs/s and per-job overhead, against the SDK's own dev server.

- throughput: N `/run` jobs with an echo handler on 1 and 4 SDK workers, until all COMPLETED;
  once with the SDK's default concurrency 1 (each worker then waits 1 s between job-takes,
  as deployed) and once with concurrency 32;
- overhead: sequential `/runsync` latency minus the handler's 10 ms sleep, median and p99,
  for the emulator (a warm worker at concurrency 3, so a job-take is always waiting: the SDK
  counts a taken job twice, queue + progress) and for the peer,
  `python echo_worker.py --rp_serve_api` (runpod's local FastAPI server: no queue, in-process).
  The emulator's own share is latency minus `executionTime` (take -> job-done, which holds the
  SDK production loop's up-to-100 ms pickup tick).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette

from podkit.emulator.dataplane import DataPlane, EndpointRuntime
from podkit.emulator.dataplane.auth import account_for_key
from podkit.emulator.server import server_config

WORKER = Path(__file__).with_name("echo_worker.py")
KEY = "bench-key"
HANDLER_S = 0.010
OVERHEAD_CALLS = 100


def _free_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def _wait(probe: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(probe) and probe():
            return
        time.sleep(0.05)
    raise TimeoutError(f"not ready within {timeout} s")


@contextmanager
def _emulator() -> Iterator[tuple[DataPlane, str]]:
    with tempfile.TemporaryDirectory() as state:
        plane = DataPlane(Path(state), gpu_shim=False)
        sock = _free_socket()
        server = uvicorn.Server(server_config(Starlette(routes=plane.routes())))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        _wait(lambda: server.started, 10)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        plane.start(url)
        try:
            yield plane, url
        finally:
            plane.close()
            server.should_exit = True
            thread.join(10)


def _endpoint(plane: DataPlane, name: str, workers: int, concurrency: int) -> None:
    plane.endpoint_changed(
        EndpointRuntime(
            name,
            account_for_key(KEY),
            workers_min=workers,
            workers_max=workers,
            idle_timeout_s=600,
            env={"ECHO_CONCURRENCY": str(concurrency), "RUNPOD_LOG_LEVEL": "ERROR"},
            worker_command=[sys.executable, str(WORKER)],
        )
    )
    _wait(lambda: plane.backend.health(name)["workers"]["idle"] == workers, 60)


def _throughput(client: httpx.Client, name: str, jobs: int) -> float:
    started = time.perf_counter()
    for n in range(jobs):
        client.post(f"/v2/{name}/run", json={"input": {"echo": n}}).raise_for_status()

    def done() -> bool:
        return bool(client.get(f"/v2/{name}/health").json()["jobs"]["completed"] == jobs)

    _wait(done, 600)
    return jobs / (time.perf_counter() - started)


def _overheads(client: httpx.Client, path: str) -> tuple[list[float], list[float]]:
    """(latency - handler time, latency - executionTime) per sequential runsync call."""
    samples, own = [], []
    for n in range(OVERHEAD_CALLS):
        started = time.perf_counter()
        body = client.post(path, json={"input": {"echo": n, "sleep": HANDLER_S}}).json()
        latency = time.perf_counter() - started
        samples.append(latency - HANDLER_S)
        if "executionTime" in body:
            own.append(latency - body["executionTime"] / 1000)
        if body.get("output", {}).get("echo") != n:
            raise RuntimeError(f"unexpected runsync answer: {body}")
    return samples, own


def _peer_overheads() -> list[float]:
    sock = _free_socket()
    port = sock.getsockname()[1]
    sock.close()
    command = [sys.executable, str(WORKER), "--rp_serve_api", "--rp_api_host", "127.0.0.1"]
    env = {**os.environ, "RUNPOD_LOG_LEVEL": "ERROR"}
    peer = subprocess.Popen(
        [*command, "--rp_api_port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            _wait(lambda: _up(client), 60)
            _overheads(client, "/runsync")  # warm-up, as for the emulator
            return _overheads(client, "/runsync")[0]
    finally:
        peer.terminate()
        peer.wait(10)


def _up(client: httpx.Client) -> bool:
    try:
        return client.get("/openapi.json").status_code == 200
    except httpx.TransportError:
        return False


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    """Print throughput and overhead figures, with the ratio against the peer."""
    with (
        _emulator() as (plane, url),
        httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=120
        ) as client,
    ):
        for workers, concurrency, jobs in [(1, 1, 10), (4, 1, 40), (1, 32, 500), (4, 32, 1000)]:
            name = f"tp-{workers}w-c{concurrency}"
            _endpoint(plane, name, workers, concurrency)
            rate = _throughput(client, name, jobs)
            print(f"throughput {workers} worker(s), concurrency {concurrency}: {rate:8.1f} jobs/s")
        _endpoint(plane, "lat", 1, 3)
        _overheads(client, "/v2/lat/runsync")  # warm-up
        ours, own = _overheads(client, "/v2/lat/runsync")
    peer = _peer_overheads()
    rows = [("emulator + SDK loop", ours), ("emulator's own share", own), ("peer", peer)]
    for label, samples in rows:
        print(
            f"runsync overhead {label:>21}: median {_p(samples, 0.5):7.2f} ms,"
            f" p99 {_p(samples, 0.99):7.2f} ms"
        )
    peer_median = statistics.median(peer)
    print(f"ratio emulator+SDK loop / peer (median): {statistics.median(ours) / peer_median:.2f}x")
    print(
        f"ratio emulator's own share / peer (median): {statistics.median(own) / peer_median:.2f}x"
    )


if __name__ == "__main__":
    main()
