"""The main job of `make demo`: the README's tour in one go.

Everything runs against an in-process local RunPod on a free loopback port: the example in
examples/gpu-worker is planned and applied to staging with `--wait --smoke` (the smoke tests
gate the release), the sample models are put on its network volume, the endpoint's real SDK
worker answers `gpu_info` and `list_files` through the data plane, a new image is applied
(gated again), `podkit rollback` puts the first image back, `podkit status` shows the
endpoint, and `podkit destroy --volumes` removes it all.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from podkit._http import HttpClient
from podkit.cli.main import main as podkit
from podkit.config import load_config
from podkit.deploy.service import deployed_endpoint_id
from podkit.emulator.server import LocalRunPod
from podkit.runpod import ApiKey, connect

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "gpu-worker" / "podkit.toml"
DEMO_KEY = "podkit-demo-account"
UPDATE = "ghcr.io/example/podkit-gpu-worker:0.1.1@sha256:" + "4e2d" * 16
RUNSYNC_WAIT_MS = 120_000


@contextmanager
def demo_environment(workdir: Path, url: str) -> Iterator[None]:
    """Point the CLI at the local RunPod and the copied example, then restore everything."""
    saved = {k: os.environ.get(k) for k in ("PODKIT_TARGET", "RUNPOD_API_KEY")}
    cwd = Path.cwd()
    os.environ.update({"PODKIT_TARGET": url, "RUNPOD_API_KEY": DEMO_KEY})
    os.chdir(workdir)
    try:
        yield
    finally:
        os.chdir(cwd)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def step(console: Console, summary: list[tuple[str, str]], *argv: str) -> int:
    console.rule(f"podkit {' '.join(argv)}")
    start = time.perf_counter()
    code = podkit(list(argv))
    summary.append((f"podkit {' '.join(argv)}", f"exit {code}, {time.perf_counter() - start:.2f}s"))
    return code


def runsync(url: str, endpoint_id: str, job_input: dict[str, Any]) -> dict[str, Any]:
    """One job through the data plane (`/v2/{id}/runsync`); a cold worker starts first."""
    headers = {"Authorization": f"Bearer {DEMO_KEY}"}
    with HttpClient(url, headers=headers, timeout=RUNSYNC_WAIT_MS / 1000 + 30) as http:
        response = http.request(
            "POST",
            f"/v2/{endpoint_id}/runsync",
            json={"input": job_input},
            params={"wait": RUNSYNC_WAIT_MS},
        )
        body: dict[str, Any] = response.json()
        return body


def seed_volume(rp: LocalRunPod, volume_id: str) -> None:
    """Put the sample model files on the network volume (a local directory here)."""
    from worker_demo import make_volume  # scripts/ is on sys.path when run as a script

    make_volume(rp.backend.volume_dir(volume_id))


def call_worker(console: Console, rp: LocalRunPod, summary: list[tuple[str, str]]) -> None:
    from worker_demo import show_gpu, show_listing

    deployment = load_config(Path("podkit.toml"), env="staging").deployment
    with connect("v2", target=rp.url, key=ApiKey(DEMO_KEY, "demo")) as client:
        endpoint_id = deployed_endpoint_id(client, deployment)
        volume_id = client.endpoints.get(endpoint_id or "").network_volumes[0]
    assert endpoint_id is not None
    seed_volume(rp, volume_id)
    for action, job in (
        ("gpu_info", {"action": "gpu_info"}),
        ("list_files", {"action": "list_files", "path": "/runpod-volume", "recursive": True}),
    ):
        console.rule(f"{action} on endpoint {endpoint_id} (data plane runsync)")
        with console.status(f"runsync {action} (the first call starts a worker) ..."):
            start = time.perf_counter()
            body = runsync(rp.url, endpoint_id, job)
        summary.append((f"{action} on {endpoint_id}", f"{body.get('status')}, "
                        f"{time.perf_counter() - start:.2f}s"))  # fmt: skip
        (show_gpu if action == "gpu_info" else show_listing)(console, body)


def deploy_demo(console: Console | None = None) -> list[tuple[str, str]]:
    """Run the main job; return the summary rows (also printed)."""
    console = console or Console()
    summary: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="podkit-demo-") as tmp:
        workdir = Path(tmp)
        shutil.copy(EXAMPLE, workdir / "podkit.toml")
        with LocalRunPod(state_dir=workdir / "runpod") as rp, demo_environment(workdir, rp.url):
            console.print(f"local RunPod on {rp.url}; project copied to {workdir}")
            gated = ("apply", "--env", "staging", "--yes", "--wait", "--smoke")
            step(console, summary, "plan", "--env", "staging")
            if step(console, summary, *gated) != 0:
                raise SystemExit("apply failed; see above")
            step(console, summary, "plan", "--env", "staging")
            call_worker(console, rp, summary)
            if step(console, summary, *gated, "--image", UPDATE) != 0:
                raise SystemExit("the image update failed; see above")
            step(console, summary, "rollback", "--env", "staging", "--yes")
            step(console, summary, "status", "--env", "staging")
            step(console, summary, "destroy", "--env", "staging", "--volumes", "--yes")
    table = Table(title="podkit demo: summary")
    table.add_column("step")
    table.add_column("result")
    for row in summary:
        table.add_row(*row)
    console.print(table)
    return summary


if __name__ == "__main__":
    deploy_demo()
