"""Load-balancing endpoints through plan, apply (read back), rollback and destroy over REST v2,
and the refusals that stop them before any write."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod

KEY = "rpa_LBKEY_do_not_print_0123456789"
IMAGE_A = "ghcr.io/acme/lb@sha256:" + "a" * 64
IMAGE_B = "ghcr.io/acme/lb@sha256:" + "b" * 64
CONFIG = f"""\
project = "lb-app"

[image]
repository = "ghcr.io/acme/lb"
ref = "{IMAGE_A}"

[worker]
port = 8000
health_port = 8001
health_path = "/health"

[endpoint]
type = "load_balancer"
gpu_pools = ["ADA_24"]
workers_max = 2
idle_timeout = "45s"
scaler = {{ value = 3 }}
"""


@pytest.fixture
def project(local_runpod: LocalRunPod, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PODKIT_TARGET", local_runpod.url)
    monkeypatch.setenv("RUNPOD_API_KEY", KEY + tmp_path.name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "podkit.toml").write_text(CONFIG)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert KEY not in captured.out + captured.err, f"API key printed by {argv}"
    return code, captured.out + captured.err


def _remote(url: str, key: str) -> dict[str, object]:
    listed = httpx.get(f"{url}/v2/serverless", headers={"Authorization": f"Bearer {key}"})
    endpoints: list[dict[str, object]] = listed.json()["endpoints"]
    assert len(endpoints) == 1
    return endpoints[0]


def test_apply_reads_back_rolls_back_and_destroys(
    project: Path, local_runpod: LocalRunPod, capsys: pytest.CaptureFixture[str]
) -> None:
    key = KEY + project.name
    code, out = run(capsys, "plan")
    assert code == 2 and "LOAD_BALANCER" in out
    assert run(capsys, "apply", "--yes")[0] == 0
    remote = _remote(local_runpod.url, key)
    assert remote["type"] == "LOAD_BALANCER"
    assert remote["ports"] == ["8000/http", "8001/http"]
    assert remote["scaling"] == {"type": "REQUEST_COUNT", "requestCount": 3}
    assert remote["workers"] == {"min": 0, "max": 2, "idleTimeout": 45}
    env = remote["env"]
    assert isinstance(env, dict)
    assert (env["PORT"], env["PORT_HEALTH"], env["HEALTH_CHECK_PATH"]) == (
        "8000",
        "8001",
        "/health",
    )
    urls = remote["requestUrls"]
    assert isinstance(urls, dict) and urls["health"].endswith("/health")
    code, out = run(capsys, "plan", "--json")
    assert code == 0 and json.loads(out)["summary"] == "no changes"
    assert run(capsys, "apply", "--yes", "--image", IMAGE_B)[0] == 0
    assert _remote(local_runpod.url, key)["image"] == IMAGE_B
    assert run(capsys, "rollback", "--yes")[0] == 0
    assert _remote(local_runpod.url, key)["image"] == IMAGE_A
    code, out = run(capsys, "destroy", "--yes")
    assert code == 0 and "destroyed" in out
    assert run(capsys, "plan")[0] == 2


def test_v1_and_queue_delay_are_refused_naming_the_key(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "plan", "--api", "v1")
    assert code == 1 and 'endpoint.type = "load_balancer" cannot be created through REST v1' in out
    text = CONFIG.replace("scaler = { value = 3 }", 'scaler = { type = "queue_delay", value = 3 }')
    (project / "podkit.toml").write_text(text)
    code, out = run(capsys, "plan")
    assert code != 0
    assert "podkit.toml:17:1: endpoint.scaler: a load_balancer endpoint scales on requests" in out


def test_ports_that_do_not_reach_the_server_are_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = CONFIG.replace("port = 8000\n", 'port = 8000\nports = ["8000/http"]\n')
    (project / "podkit.toml").write_text(text)
    code, out = run(capsys, "plan")
    assert code != 0
    assert "worker.ports: does not expose worker.health_port 8001" in out
    assert 'add "8001/http" to worker.ports' in out
