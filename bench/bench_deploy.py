"""Deploy benchmark: requests made by `plan` and by a no-op `apply`, and plan wall time.

Against an in-process local RunPod. The peer is what a hand-written deploy script does to
look before it writes: the bare sequence of GET calls (volumes, endpoints, GPU catalog) over
one httpx client, with no parsing, planning or preflight. Same process, same server, same run.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from podkit.config import load_config
from podkit.deploy import service
from podkit.deploy.history import History
from podkit.emulator.server import LocalRunPod
from podkit.runpod import ApiKey, connect

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "gpu-worker" / "podkit.toml"
KEY = ApiKey("bench-deploy-key", "bench")
ROUNDS = 30


def _median_ms(fn: Callable[[], object]) -> float:
    fn()  # warm up connections and caches
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    deployment = load_config(EXAMPLE, env="staging").deployment
    with tempfile.TemporaryDirectory() as tmp, LocalRunPodContext(Path(tmp)) as rp:
        history = History(service.scope_for(deployment), Path(tmp))
        with connect("v2", target=rp.url, key=KEY) as c:
            service.apply_prepared(c, service.prepare(c, deployment), history)
        with connect("v2", target=rp.url, key=KEY) as c:
            service.prepare(c, deployment)
            plan_stats = c.stats.requests
        with connect("v2", target=rp.url, key=KEY) as c:
            service.apply_prepared(c, service.prepare(c, deployment), history)
            noop_reads, noop_writes = c.stats.requests - c.stats.writes, c.stats.writes
            routes = sorted(c.stats.by_route)
            plan_ms = _median_ms(lambda: service.prepare(c, deployment))
        headers = {"Authorization": f"Bearer {KEY.reveal()}"}
        with httpx.Client(base_url=rp.url, headers=headers) as raw:
            gets = ["/v2/network-volumes", "/v2/serverless", "/v2/catalog/gpus"]
            peer_ms = _median_ms(lambda: [raw.get(p).raise_for_status() for p in gets])
    print(f"plan: {plan_stats} requests ({', '.join(routes)})")
    print(f"no-op apply: {noop_reads} reads, {noop_writes} writes")
    print(f"plan wall time: {plan_ms:.2f} ms median of {ROUNDS}")
    print(f"peer (bare {len(gets)} GETs): {peer_ms:.2f} ms median of {ROUNDS}")
    print(f"ratio plan / peer: {plan_ms / peer_ms:.2f}x")


class LocalRunPodContext:
    """The local RunPod for the duration of the benchmark."""

    def __init__(self, state_dir: Path) -> None:
        self.rp = LocalRunPod(state_dir=state_dir / "emulator")

    def __enter__(self) -> LocalRunPod:
        return self.rp.start()

    def __exit__(self, *exc: object) -> None:
        self.rp.stop()


if __name__ == "__main__":
    main()
