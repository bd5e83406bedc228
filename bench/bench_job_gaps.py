"""Where an SDK worker's time between jobs goes, and jobs/s for 1 and 5 workers.

- emulator: all jobs queued first (`/run`), then 1 or 5 SDK workers (`echo_worker.py`,
  concurrency 1, the SDK's default) with a sync or an async handler that sleeps 10 ms; jobs/s
  until every job is COMPLETED. A middleware times every worker-protocol request on the
  server, so each gap between a worker's job-done and its next job is split into
  "SDK before asking" (job-done answered -> next job-take arrives) and "emulator answering"
  (job-take arrives -> its answer leaves), with the count of empty (204) answers.
- peer, in the same run: the same handler under the SDK's own local server
  (`echo_worker.py --rp_serve_api`), one process per worker, each driven by sequential
  `/runsync` calls (no queue: the handler runs inside the request).
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
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from podkit.emulator.dataplane import DataPlane, EndpointRuntime
from podkit.emulator.dataplane.auth import account_for_key
from podkit.emulator.server import server_config

WORKER = Path(__file__).with_name("echo_worker.py")
KEY = "bench-gaps-key"
HANDLER_S = 0.01
JOBS_PER_WORKER = 20
CASES = [(1, "sync"), (1, "async"), (5, "sync"), (5, "async")]


class Timings:
    """ASGI middleware: (worker id, route, arrival, departure, status) of worker requests."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.rows: list[tuple[str, str, float, float, int]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/_worker/"):
            await self.app(scope, receive, send)
            return
        parts = path.split("/")  # /_worker/{endpoint}/{route}/{worker}[/{job}]
        arrived, status = time.perf_counter(), [0]

        async def timed_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        await self.app(scope, receive, timed_send)
        self.rows.append((parts[4], parts[3], arrived, time.perf_counter(), status[0]))


def _wait(probe: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.05)
    raise TimeoutError(f"not ready within {timeout} s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def _emulator() -> Iterator[tuple[DataPlane, str, Timings]]:
    with tempfile.TemporaryDirectory() as state:
        plane = DataPlane(Path(state), gpu_shim=False)
        timings = Timings(Starlette(routes=plane.routes()))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(server_config(timings))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        _wait(lambda: server.started, 10)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        plane.start(url)
        try:
            yield plane, url, timings
        finally:
            plane.close()
            server.should_exit = True
            thread.join(10)


def _emulator_rate(plane: DataPlane, client: httpx.Client, workers: int, mode: str) -> float:
    name = f"gaps-{workers}w-{mode}"
    jobs = JOBS_PER_WORKER * workers
    runtime = EndpointRuntime(
        name,
        account_for_key(KEY),
        workers_min=0,
        workers_max=workers,
        idle_timeout_s=600,
        env={"ECHO_MODE": mode, "RUNPOD_LOG_LEVEL": "ERROR"},
        worker_command=[sys.executable, str(WORKER)],
    )
    plane.endpoint_changed(runtime)  # a first job per worker starts them; timing begins after
    warm = [
        client.post(f"/v2/{name}/run", json={"input": {"echo": -1}}).json()["id"]
        for _ in range(workers)
    ]
    _wait(lambda: plane.backend.health(name)["jobs"]["completed"] >= len(warm), 120)
    done_before = plane.backend.health(name)["jobs"]["completed"]
    body = {"input": {"sleep": HANDLER_S, "echo": 1}}
    started = time.perf_counter()
    for _ in range(jobs):
        client.post(f"/v2/{name}/run", json=body).raise_for_status()

    def finished() -> bool:
        return bool(plane.backend.health(name)["jobs"]["completed"] - done_before >= jobs)

    _wait(finished, 600)
    rate = jobs / (time.perf_counter() - started)
    plane.endpoint_deleted(name)
    return rate


def _gaps(rows: list[tuple[str, str, float, float, int]]) -> tuple[list[float], list[float], int]:
    """(SDK before asking, emulator answering) per gap, and empty job-take answers."""
    by_worker: dict[str, list[tuple[str, float, float, int]]] = defaultdict(list)
    for worker, route, arrived, left, status in rows:
        if route in ("job-take", "job-take-batch", "job-done"):
            by_worker[worker].append((route, arrived, left, status))
    sdk, ours, empty = [], [], 0
    for events in by_worker.values():
        events.sort(key=lambda e: e[1])
        done_at: float | None = None
        for route, arrived, left, status in events:
            if route == "job-done":
                done_at = left
                continue
            if status == 204:
                empty += 1
                continue
            if done_at is not None:
                sdk.append(arrived - done_at)
                ours.append(left - arrived)
                done_at = None
    return sdk, ours, empty


def _peer_rate(workers: int, mode: str) -> float:
    ports = [_free_port() for _ in range(workers)]
    env = {**os.environ, "RUNPOD_LOG_LEVEL": "ERROR", "ECHO_MODE": mode}
    command = [sys.executable, str(WORKER), "--rp_serve_api", "--rp_api_host", "127.0.0.1"]
    peers = [
        subprocess.Popen(
            [*command, "--rp_api_port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{p}", timeout=30) for p in ports]
    try:
        for client in clients:
            _wait(lambda client=client: _up(client), 60)
            client.post("/runsync", json={"input": {"echo": 0}})
        started = time.perf_counter()
        threads = [threading.Thread(target=_drive, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
        return JOBS_PER_WORKER * workers / (time.perf_counter() - started)
    finally:
        for client in clients:
            client.close()
        for peer in peers:
            peer.terminate()
            peer.wait(10)


def _drive(client: httpx.Client) -> None:
    for n in range(JOBS_PER_WORKER):
        body = client.post("/runsync", json={"input": {"sleep": HANDLER_S, "echo": n}}).json()
        if body.get("output", {}).get("echo") != n:
            raise RuntimeError(f"unexpected runsync answer: {body}")


def _up(client: httpx.Client) -> bool:
    try:
        return client.get("/openapi.json").status_code == 200
    except httpx.TransportError:
        return False


def _ms(samples: list[float]) -> str:
    if not samples:
        return "n/a"
    return f"median {statistics.median(samples) * 1000:6.1f} ms, max {max(samples) * 1000:6.1f} ms"


def main() -> None:
    """Print jobs/s per case with the ratio to the peer, then the gap breakdown."""
    rates = {}
    with (
        _emulator() as (plane, url, timings),
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as c,
    ):
        for workers, mode in CASES:
            rates[workers, mode] = _emulator_rate(plane, c, workers, mode)
        sdk, ours, empty = _gaps(timings.rows)
    for workers, mode in CASES:
        peer = _peer_rate(workers, mode)
        ours_rate = rates[workers, mode]
        print(
            f"{workers} worker(s), {mode:>5} handler: emulator {ours_rate:6.2f} jobs/s, "
            f"--rp_serve_api {peer:7.2f} jobs/s, ratio {ours_rate / peer:.3f}x"
        )
    print(f"gap job-done -> next job-take, SDK before asking: {_ms(sdk)} ({len(sdk)} gaps)")
    print(f"gap job-take arrives -> job answered, emulator:   {_ms(ours)}")
    print(f"empty job-take answers (204): {empty}")


if __name__ == "__main__":
    main()
