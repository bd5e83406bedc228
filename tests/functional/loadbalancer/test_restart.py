"""A load-balancing endpoint kept in --state-dir serves again after the local RunPod restarts,
and its workers end with the emulator."""

from __future__ import annotations

from pathlib import Path

import httpx

from podkit.emulator.server import LocalRunPod
from tests.functional.loadbalancer.conftest import FAST, KEY, WORKER, lb_body

HEADERS = {"Authorization": f"Bearer {KEY}"}


def local(state_dir: Path) -> LocalRunPod:
    return LocalRunPod(state_dir=state_dir, worker_command=WORKER, loadbalancer_settings=FAST)


def test_an_lb_endpoint_serves_again_after_a_restart(tmp_path: Path) -> None:
    with local(tmp_path) as first:
        made = httpx.post(
            f"{first.url}/v2/serverless", json=lb_body("kept"), headers=HEADERS, timeout=30
        ).json()
        answer = httpx.get(f"{first.url}/lb/{made['id']}/echo/a", headers=HEADERS, timeout=60)
        assert answer.status_code == 200
        balancer = getattr(first.context.dataplane, "balancer")  # noqa: B009
        worker = balancer.worker(made["id"], answer.json()["worker"])
        assert worker is not None
    assert worker.process.poll() is not None  # ended with the emulator
    with local(tmp_path) as second:
        again = httpx.get(f"{second.url}/lb/{made['id']}/echo/b", headers=HEADERS, timeout=60)
        assert again.status_code == 200 and again.json()["path"] == "/echo/b"
