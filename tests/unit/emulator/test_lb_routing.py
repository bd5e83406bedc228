"""Which endpoint a request reaches through the local load balancer (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from podkit.emulator.loadbalancer.routing import LbTarget, host_url, lb_target, queue_target
from podkit.emulator.loadbalancer.workers import command_for, health_path, ports_for, worker_env
from podkit.emulator.runtime import DEFAULT_WORKER_COMMAND, EndpointSpec


def scope(path: str, host: str = "127.0.0.1:8765") -> dict[str, Any]:
    return {"type": "http", "path": path, "headers": [(b"host", host.encode())]}


@pytest.mark.parametrize(
    ("path", "host", "expected"),
    [
        ("/lb/abc/v1/models", "127.0.0.1:1", LbTarget("abc", "/v1/models")),
        ("/lb/abc", "127.0.0.1:1", LbTarget("abc", "/")),
        ("/lb/abc/", "127.0.0.1:1", LbTarget("abc", "/")),
        ("/ping", "abc.lb.localhost:8765", LbTarget("abc", "/ping")),
        ("/v2/serverless", "ABC.lb.localhost", LbTarget("abc", "/v2/serverless")),
        ("/lb/", "127.0.0.1:1", None),
        ("/v2/abc/run", "127.0.0.1:1", None),
        ("/ping", "lb.localhost:1", None),
    ],
)
def test_lb_target(path: str, host: str, expected: LbTarget | None) -> None:
    assert lb_target(scope(path, host)) == expected


def test_queue_paths_name_their_endpoint() -> None:
    assert queue_target(scope("/v2/abc/runsync")) == "abc"
    assert queue_target(scope("/v2/abc")) is None
    assert queue_target(scope("/v1/endpoints/x")) is None


def test_host_url_keeps_the_port() -> None:
    assert host_url("abc", "http://127.0.0.1:8765") == "http://abc.lb.localhost:8765"


def spec(**env: str) -> EndpointSpec:
    return EndpointSpec(
        endpoint_id="ep1", account_id="a", version=1, workers_min=0, workers_max=1,
        idle_timeout_s=5, execution_timeout_ms=1000, image="i", env=env, start_command=(),
    )  # fmt: skip


def test_worker_env_sets_the_platform_variables_and_drops_the_hosts_keys() -> None:
    host = {"RUNPOD_API_KEY": "secret", "PODKIT_X": "y", "PATH": "/bin"}
    env = worker_env(spec(HEALTH_CHECK_PATH="health", A="1"), "w1", (5000, 5000), host_env=host)
    assert (env["PORT"], env["PORT_HEALTH"], env["HEALTH_CHECK_PATH"]) == (
        "5000",
        "5000",
        "/health",
    )
    assert env["A"] == "1" and env["RUNPOD_POD_ID"] == "w1" and env["RUNPOD_ENDPOINT_ID"] == "ep1"
    assert "RUNPOD_API_KEY" not in env and "PODKIT_X" not in env


def test_a_separate_health_port_only_when_the_endpoint_asks_for_one() -> None:
    same = ports_for(spec(PORT="8000", PORT_HEALTH="8000"))
    apart = ports_for(spec(PORT="8000", PORT_HEALTH="8001"))
    assert same[0] == same[1] and apart[0] != apart[1]
    assert health_path(spec()) == "/ping"


def test_podkits_own_worker_runs_in_http_mode() -> None:
    assert command_for(spec())[-1] == "--http"
    custom = EndpointSpec(**{**spec().__dict__, "worker_command": ("python", "server.py")})
    assert command_for(custom) == ["python", "server.py"]
    assert tuple(command_for(spec())[:-1]) == DEFAULT_WORKER_COMMAND
