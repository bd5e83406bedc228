"""Requests through the local load balancer to real worker processes on loopback."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pycurl
import pytest
from websockets.asyncio.client import connect

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.loadbalancer.conftest import KEY, wait_until, workers

CreateLb = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def endpoint(create_lb: CreateLb) -> dict[str, Any]:
    return create_lb("lb-main", workers={"min": 0, "max": 2, "idleTimeout": 60})


def test_request_urls_point_at_the_load_balancer(
    endpoint: dict[str, Any], runpod: LocalRunPod
) -> None:
    urls = endpoint["requestUrls"]
    assert urls == {
        "base": f"{runpod.url}/lb/{endpoint['id']}",
        "health": f"{runpod.url}/lb/{endpoint['id']}/ping",
    }


def test_first_request_scales_from_zero_and_reaches_the_worker(
    api: httpx.Client, endpoint: dict[str, Any]
) -> None:
    base = endpoint["requestUrls"]["base"]
    answer = api.post(f"{base}/echo/a/b?x=1", content=b"hello", headers={"X-Mine": "yes"})
    assert answer.status_code == 200, answer.text
    seen = answer.json()
    assert (seen["method"], seen["path"], seen["query"], seen["body"]) == (
        "POST", "/echo/a/b", "x=1", "hello",
    )  # fmt: skip
    assert seen["headers"]["x-mine"] == "yes"
    assert "authorization" not in seen["headers"]  # the RunPod key stays with the platform
    assert seen["env"]["PORT"] == seen["env"]["PORT_HEALTH"]
    assert seen["env"]["HEALTH_CHECK_PATH"] == "/ping"
    listed = workers(api, endpoint["id"])
    assert [w["id"] for w in listed] == [seen["worker"]]
    assert listed[0]["status"] in ("IDLE", "RUNNING")


def test_host_form_reaches_the_same_endpoint(
    api: httpx.Client, endpoint: dict[str, Any], runpod: LocalRunPod
) -> None:
    host = f"{endpoint['id']}.lb.localhost:{runpod.server.port}"
    answer = api.get(f"{runpod.url}/echo/host", headers={"Host": host})
    assert answer.status_code == 200, answer.text
    assert answer.json()["path"] == "/echo/host"


def test_host_form_resolves_in_a_client_that_knows_localhost_names(
    endpoint: dict[str, Any], runpod: LocalRunPod
) -> None:
    """libcurl resolves every `*.localhost` name to loopback itself (no /etc/hosts entry), as
    browsers do, so the host form works as a base URL there."""
    url = f"http://{endpoint['id']}.lb.localhost:{runpod.server.port}/echo/resolved"
    body = io.BytesIO()
    easy = pycurl.Curl()
    try:
        easy.setopt(pycurl.URL, url)
        easy.setopt(pycurl.HTTPHEADER, [f"Authorization: Bearer {KEY}"])
        easy.setopt(pycurl.WRITEDATA, body)
        easy.setopt(pycurl.TIMEOUT, 60)
        easy.perform()
        status, address = easy.getinfo(pycurl.RESPONSE_CODE), easy.getinfo(pycurl.PRIMARY_IP)
    finally:
        easy.close()
    assert status == 200, body.getvalue()
    assert address in ("127.0.0.1", "::1")
    assert json.loads(body.getvalue())["path"] == "/echo/resolved"


def test_auth_is_the_platform_bearer_auth(api: httpx.Client, endpoint: dict[str, Any]) -> None:
    base = endpoint["requestUrls"]["base"]
    missing = httpx.get(f"{base}/echo/x")
    other = httpx.get(f"{base}/echo/x", headers={"Authorization": "Bearer someone-else"})
    assert missing.status_code == 401 and "API key" in missing.json()["error"]
    assert other.status_code == 404  # another account's endpoint is not found
    assert KEY not in missing.text + other.text


def test_queue_paths_on_an_lb_endpoint_and_the_reverse_are_refused(
    api: httpx.Client, endpoint: dict[str, Any], runpod: LocalRunPod
) -> None:
    queue = api.post(f"/v2/{endpoint['id']}/runsync", json={"input": {}})
    assert (queue.status_code, queue.json()) == (400, {"error": "not allowed for LB API"})
    body = {
        "name": "queue-one", "type": "QUEUE", "image": "acme/q:1", "gpu": {"pools": ["ADA_24"]},
        "scaling": {"type": "QUEUE_DELAY", "queueDelay": 4}, "workers": {"min": 0, "max": 1},
    }  # fmt: skip
    made = api.post("/v2/serverless", json=body).json()
    try:
        reverse = api.get(f"{runpod.url}/lb/{made['id']}/ping")
        assert (reverse.status_code, reverse.json()) == (400, {"error": "not allowed for QB API"})
    finally:
        api.delete(f"/v2/serverless/{made['id']}")


def test_chunked_and_server_sent_events_stream_through(
    api: httpx.Client, endpoint: dict[str, Any]
) -> None:
    base = endpoint["requestUrls"]["base"]
    with api.stream("GET", f"{base}/chunks") as response:
        lines = list(response.iter_lines())
    assert lines == [f"part {n}" for n in range(5)]
    with api.stream("GET", f"{base}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        data = [line for line in response.iter_lines() if line.startswith("data:")]
    assert data == ["data: 0", "data: 1", "data: 2"]


@pytest.mark.parametrize("path", ["/echo/once", "/chunks"])
def test_date_and_server_come_once_from_the_platform(
    api: httpx.Client, endpoint: dict[str, Any], path: str
) -> None:
    with api.stream("GET", endpoint["requestUrls"]["base"] + path) as response:
        response.read()
    assert response.status_code == 200
    assert len(response.headers.get_list("date")) == 1, response.headers.raw
    assert response.headers.get_list("server") == ["uvicorn"], response.headers.raw


def test_websockets_pass_through(endpoint: dict[str, Any]) -> None:
    url = endpoint["requestUrls"]["base"].replace("http://", "ws://") + "/ws"

    async def talk() -> list[str]:
        headers = {"Authorization": f"Bearer {KEY}"}
        async with connect(url, additional_headers=headers, open_timeout=30) as socket:
            await socket.send("one")
            first = str(await socket.recv())
            await socket.send("two")
            second = str(await socket.recv())
            await socket.send("bye")
            return [first.split(":", 1)[1], second.split(":", 1)[1]]

    assert asyncio.run(talk()) == ["one", "two"]


def test_payload_over_the_limit_gets_413(api: httpx.Client, endpoint: dict[str, Any]) -> None:
    answer = api.post(f"{endpoint['requestUrls']['base']}/echo/big", content=b"x" * 100_001)
    assert answer.status_code == 413
    assert "payload" in answer.json()["error"]


def test_request_over_the_timeout_gets_504(api: httpx.Client, endpoint: dict[str, Any]) -> None:
    answer = api.get(f"{endpoint['requestUrls']['base']}/slow", params={"s": "30"})
    assert answer.status_code == 504
    assert answer.json() == {"error": "request timed out"}


def test_requests_scale_workers_up_to_max(api: httpx.Client, endpoint: dict[str, Any]) -> None:
    base = endpoint["requestUrls"]["base"]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: api.get(f"{base}/slow", params={"s": "1.5"}), range(6)))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    # Up to 4 requests at once, requestCount 1, workers.max 2: a second worker was started,
    # never a third (the idle timeout of 60 s keeps both listed).
    live = [w for w in workers(api, endpoint["id"]) if w["status"] != "UNHEALTHY"]
    assert len(live) == 2
    assert len({a.json()["worker"] for a in answers}) <= 2


def test_a_new_endpoint_version_replaces_the_workers(
    api: httpx.Client, create_lb: CreateLb
) -> None:
    made = create_lb("lb-roll", workers={"min": 1, "max": 1, "idleTimeout": 60})
    base = made["requestUrls"]["base"]
    before = api.get(f"{base}/echo/x").json()
    assert before["env"]["LB_MARKER"] is None
    patched = api.patch(f"/v2/serverless/{made['id']}", json={"env": {"LB_MARKER": "v2"}})
    assert patched.status_code == 200, patched.text

    def new_release() -> dict[str, Any] | None:
        seen: dict[str, Any] = api.get(f"{base}/echo/y").json()
        return seen if seen["env"]["LB_MARKER"] == "v2" else None

    after = wait_until(new_release, what="a worker of the new version")
    assert after["worker"] != before["worker"]


def test_unhealthy_worker_leaves_routing_and_is_replaced(
    api: httpx.Client,
    create_lb: CreateLb,
    runpod: LocalRunPod,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    made = create_lb("lb-sick", workers={"min": 1, "max": 1, "idleTimeout": 60})
    base = made["requestUrls"]["base"]
    sick = api.post(f"{base}/sick").json()["worker"]
    wait_until(
        lambda: any(
            w["id"] == sick and w["status"] == "UNHEALTHY" for w in workers(api, made["id"])
        ),
        what="the sick worker listed UNHEALTHY",
    )
    monkeypatch.setenv("PODKIT_TARGET", runpod.url)
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    assert main(["health", "--endpoint", made["id"], "--json"]) == 3  # a crash loop, to CI
    assert sick in json.loads(capsys.readouterr().out)["crash_loop"]
    answer = api.get(f"{base}/echo/after")
    assert answer.status_code == 200 and answer.json()["worker"] != sick


def test_initializing_worker_is_kept_out_of_routing(api: httpx.Client, create_lb: CreateLb) -> None:
    made = create_lb(
        "lb-slow-start",
        workers={"min": 1, "max": 1, "idleTimeout": 60},
        env={"LB_READY_AFTER": "600"},
    )
    wait_until(
        lambda: [w for w in workers(api, made["id"]) if w["status"] == "INITIALIZING"],
        what="an INITIALIZING worker",
    )
    with httpx.Client(headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as client:
        answer = client.get(f"{made['requestUrls']['base']}/echo/x")
    # Waited the (shortened) platform limit, then the platform's answer.
    assert (answer.status_code, answer.json()) == (503, {"error": "no workers available"})
    api.delete(f"/v2/serverless/{made['id']}")


def test_idle_workers_stop_down_to_min(api: httpx.Client, create_lb: CreateLb) -> None:
    made = create_lb("lb-idle", workers={"min": 0, "max": 1, "idleTimeout": 1})
    assert api.get(f"{made['requestUrls']['base']}/echo/x").status_code == 200
    wait_until(lambda: not workers(api, made["id"]), what="the idle worker to stop")


def test_deleting_the_endpoint_ends_its_workers(api: httpx.Client, create_lb: CreateLb) -> None:
    made = create_lb("lb-delete", workers={"min": 1, "max": 1, "idleTimeout": 60})
    wait_until(lambda: workers(api, made["id"]), what="the min worker")
    assert api.delete(f"/v2/serverless/{made['id']}").status_code == 204
    gone = api.get(f"{made['requestUrls']['base']}/echo/x")
    assert gone.status_code == 404
    assert json.loads(gone.text)["error"].startswith("endpoint ")
