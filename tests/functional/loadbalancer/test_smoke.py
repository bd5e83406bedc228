"""HTTP `[[smoke]]` tests of a load-balancing endpoint: `podkit test`, and
`podkit apply --wait --smoke` rolling a failing release back by itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.loadbalancer.conftest import KEY

IMAGE = "ghcr.io/acme/lb:{tag}@sha256:{digest}"
CONFIG = """
project = "lb-smoke"

[image]
ref = "{image}"

[worker]
port = 8000
env = {{ LB_MARKER = "good" }}

[endpoint]
type = "load_balancer"
gpu_pools = ["ADA_24"]
workers_max = 1
idle_timeout = "60s"

[[smoke]]
name = "echo"
method = "POST"
path = "/echo/smoke?q=1"
body = {{ hello = "world" }}
expect = {{ method = "POST", query = "q=1", "env.LB_MARKER" = "good" }}
expect_keys = ["headers.content-type"]
max_latency = "60s"

[[smoke]]
name = "health"
path = "/ping"
expect_http_status = 200
"""


@pytest.fixture
def config(runpod: LocalRunPod, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PODKIT_TARGET", runpod.url)
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    path = tmp_path / "podkit.toml"
    path.write_text(CONFIG.format(image=IMAGE.format(tag="1", digest="a" * 64)))
    return path


def test_gated_apply_then_podkit_test_and_a_failing_release_rolls_back(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["apply", "-c", str(config), "--yes", "--wait", "--smoke"]
    assert main(base) == 0, capsys.readouterr().err
    first = capsys.readouterr()
    assert "echo" in first.out and "pass" in first.out

    assert main(["test", "-c", str(config), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["passed"] for r in report["results"]] == [True, True]
    assert report["results"][0]["cold"]["status"] == "HTTP 200"

    assert main(["health", "-c", str(config), "--json"]) == 0
    health = json.loads(capsys.readouterr().out)
    assert [w["status"] for w in health["worker_list"]] == ["IDLE"]
    assert health["crash_loop"] == []
    assert main(["logs", "-c", str(config), "--tail", "50", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    assert any("start container" in str(line) for line in lines)

    bad = IMAGE.format(tag="2", digest="b" * 64)
    code = main([*base, "--image", bad, "--set", 'worker.env.LB_MARKER="bad"'])
    out, err = capsys.readouterr()
    said = " ".join(err.split())
    assert code == 1, err
    assert "echo: cold: body 'env.LB_MARKER' is 'bad', expected 'good'" in said
    assert "rolled back to history record #1" in said
    assert KEY not in out + err + first.out + first.err


def test_a_job_smoke_test_on_a_load_balancer_is_a_config_error(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = config.read_text() + '\n[[smoke]]\nname = "job"\ninput = { action = "gpu_info" }\n'
    config.write_text(text)
    assert main(["test", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert "smoke[2].input: a load_balancer endpoint takes HTTP requests, not jobs" in err
