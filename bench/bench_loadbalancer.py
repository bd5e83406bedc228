"""Local load balancer: latency it adds and requests/s with 1 and 4 workers.

- overhead: sequential `GET /echo` through the load balancer (`requestUrls.base`, Bearer
  auth, a ready worker picked, the answer streamed back) against the same worker called
  directly on its own port, interleaved, one keep-alive client each; p50 and p99 of both and
  of the difference;
- throughput: CONCURRENCY client threads sending `GET /echo` for THROUGHPUT_S seconds
  (bounded in count too) through the load balancer to 1 and to 4 warm workers, and directly
  to one worker as the peer.
"""

from __future__ import annotations

import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

WORKER = [sys.executable, str(Path(__file__).with_name("lb_echo_worker.py"))]
KEY = "bench-key"
OVERHEAD_CALLS = 400
CONCURRENCY = 16
THROUGHPUT_S = 8.0
MAX_REQUESTS = 50_000


def _endpoint(api: httpx.Client, name: str, workers: int) -> dict[str, Any]:
    body = {
        "name": name, "type": "LOAD_BALANCER", "image": "bench/lb:1",
        "gpu": {"pools": ["ADA_24"]},
        "scaling": {"type": "REQUEST_COUNT", "requestCount": 1000},
        "workers": {"min": workers, "max": workers, "idleTimeout": 3600},
    }  # fmt: skip
    made = api.post("/v2/serverless", json=body)
    made.raise_for_status()
    endpoint: dict[str, Any] = made.json()
    return endpoint


def _wait_ready(api: httpx.Client, endpoint_id: str, count: int) -> list[str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listed = api.get(f"/v2/serverless/{endpoint_id}/workers").json()["workers"]
        ready = [w["id"] for w in listed if w["status"] in ("IDLE", "RUNNING")]
        if len(ready) == count:
            return ready
        time.sleep(0.1)
    raise RuntimeError(f"{count} workers of {endpoint_id} did not become ready in 60 s")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def overhead(through: str, direct: str) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    lb_ms: list[float] = []
    direct_ms: list[float] = []
    with httpx.Client(headers=headers) as via_lb, httpx.Client() as plain:
        for _ in range(20):  # warm both connections
            via_lb.get(f"{through}/echo")
            plain.get(f"{direct}/echo")
        for _ in range(OVERHEAD_CALLS):
            for client, url, into in ((via_lb, through, lb_ms), (plain, direct, direct_ms)):
                started = time.perf_counter()
                client.get(f"{url}/echo").raise_for_status()
                into.append((time.perf_counter() - started) * 1000)
    added = [a - b for a, b in zip(lb_ms, direct_ms, strict=True)]
    print(f"overhead ({OVERHEAD_CALLS} sequential GET /echo, interleaved)")
    print("| path | p50 (ms) | p99 (ms) |")
    print("|---|---|---|")
    print(f"| direct to the worker | {_pct(direct_ms, 0.5):.2f} | {_pct(direct_ms, 0.99):.2f} |")
    print(f"| through the load balancer | {_pct(lb_ms, 0.5):.2f} | {_pct(lb_ms, 0.99):.2f} |")
    print(f"| added (per-call difference) | {_pct(added, 0.5):.2f} | {_pct(added, 0.99):.2f} |")
    ratio = statistics.median(lb_ms) / statistics.median(direct_ms)
    print(f"median ratio load balancer / direct: {ratio:.2f}x")


def throughput(url: str, *, auth: bool) -> float:
    headers = {"Authorization": f"Bearer {KEY}"} if auth else {}
    done = 0
    lock = threading.Lock()
    deadline = time.monotonic() + THROUGHPUT_S

    def client_loop() -> None:
        nonlocal done
        with httpx.Client(headers=headers, timeout=30) as client:
            while time.monotonic() < deadline:
                client.get(f"{url}/echo").raise_for_status()
                with lock:
                    done += 1
                    if done >= MAX_REQUESTS:
                        return

    started = time.monotonic()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        for future in [pool.submit(client_loop) for _ in range(CONCURRENCY)]:
            future.result()
    return done / (time.monotonic() - started)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def emulator() -> Iterator[str]:
    """`podkit emulator start` in its own process, so the benchmark's client threads do not
    share the load balancer's interpreter."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as state:
        command = [
            sys.executable, "-m", "podkit.cli.main", "emulator", "start", "--port", str(port),
            "--state-dir", state, "--quota", "10", "--worker-command", shlex.join(WORKER),
        ]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    httpx.get(f"{url}/v2/openapi.json", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=20)


def main() -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with emulator() as url, httpx.Client(base_url=url, headers=headers, timeout=30) as api:
        one = _endpoint(api, "bench-1", 1)
        four = _endpoint(api, "bench-4", 4)
        _wait_ready(api, one["id"], 1)
        _wait_ready(api, four["id"], 4)
        base_one = one["requestUrls"]["base"]
        direct = f"http://127.0.0.1:{api.get(f'{base_one}/port').json()['port']}"
        overhead(base_one, direct)
        print(f"throughput ({CONCURRENCY} clients, {THROUGHPUT_S:g} s each)")
        print("| target | requests/s | vs direct |")
        print("|---|---|---|")
        peer = throughput(direct, auth=False)
        rows = [
            ("direct to 1 worker", peer),
            ("load balancer, 1 worker", throughput(base_one, auth=True)),
            ("load balancer, 4 workers", throughput(four["requestUrls"]["base"], auth=True)),
        ]
        for name, rate in rows:
            print(f"| {name} | {rate:.0f} | {rate / peer:.2f}x |")


if __name__ == "__main__":
    main()
