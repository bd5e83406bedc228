"""What callers may send through the local load balancer: odd paths and headers, bodies cut
short, callers that hang up mid-answer, WebSockets that vanish, endpoints deleted under a
waiting request. Each reaches the worker as sent (or not at all), never as a 500."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from podkit.emulator.server import LocalRunPod
from tests.functional.loadbalancer.conftest import FAST, KEY, WORKER, lb_body, wait_until, workers

CreateLb = Callable[..., dict[str, Any]]
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def endpoint(create_lb: CreateLb, api: httpx.Client) -> dict[str, Any]:
    made = create_lb("lb-hostile", workers={"min": 1, "max": 1, "idleTimeout": 60})
    base = made["requestUrls"]["base"]
    wait_until(lambda: api.get(f"{base}/echo/warm").status_code == 200, what="a ready worker")
    return made


@pytest.mark.parametrize(
    "path",
    [
        "/raw/a%2Fb",  # an encoded slash stays one segment
        "/raw/a%3Fb=1",  # an encoded ? is not a query
        "/raw/a%23b",  # nor an encoded # a fragment
        "/raw/a%25b",
        "/raw/a%00b",  # NUL and CR LF: the worker's business, not a 500 of the platform
        "/raw/a%0D%0AX-Injected:%201",
        "/raw/%2e%2e/%2e%2e/v2/x",
        "/raw//twice//slashed",
    ],
)
def test_the_path_reaches_the_worker_as_sent(
    api: httpx.Client, endpoint: dict[str, Any], path: str
) -> None:
    answer = api.get(f"{endpoint['requestUrls']['base']}{path}?q=a%26b&r=%00")
    assert answer.status_code == 200, answer.text
    assert answer.json()["raw_path"] == path
    assert answer.json()["query"] == "q=a%26b&r=%00"


def test_only_the_callers_own_headers_reach_the_worker(endpoint: dict[str, Any]) -> None:
    """No key, no hop-by-hop header (nor one `Connection` names), and nothing the caller did
    not send: an `Accept-Encoding` it never asked for would get it a compressed answer."""
    base = urlsplit(endpoint["requestUrls"]["base"])
    conn = http.client.HTTPConnection(base.netloc, timeout=60)
    try:
        conn.putrequest("GET", f"{base.path}/raw/headers", skip_accept_encoding=True)
        conn.putheader("Authorization", f"Bearer {KEY}")
        conn.putheader("Connection", "keep-alive, X-Hop")
        conn.putheader("X-Hop", "private")
        conn.putheader("Proxy-Connection", "keep-alive")
        conn.putheader("X-Kept", "yes")
        conn.endheaders()
        answer = conn.getresponse()
        seen = json.loads(answer.read())
    finally:
        conn.close()
    assert answer.status == 200, seen
    assert seen["headers"] == ["host", "x-kept"]


def test_a_body_cut_short_never_reaches_the_worker(
    api: httpx.Client, endpoint: dict[str, Any]
) -> None:
    base = endpoint["requestUrls"]["base"]
    host, port = urlsplit(base).hostname, urlsplit(base).port
    head = (
        f"POST {urlsplit(base).path}/echo/cut-short HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Length: 1000\r\n\r\n"
    )
    with socket.create_connection((str(host), int(port or 80)), timeout=30) as sock:
        sock.sendall(head.encode() + b"x" * 10)  # 10 of the 1000 bytes, then hang up
    # Requests to the one worker are served in order: once this one is seen, the cut one
    # would have been too.
    assert api.post(f"{base}/echo/complete", content=b"x" * 10).status_code == 200
    seen = wait_until(
        lambda: (s := api.get(f"{base}/seen").json()) and "/echo/complete" in s and s,
        what="the complete request served",
    )
    assert "/echo/cut-short" not in seen


def test_a_caller_hanging_up_ends_the_stream_on_the_worker(tmp_path: Path) -> None:
    """A stream without end stops when its caller goes (the worker is free again), not at the
    request timeout."""
    settings = replace(FAST, request_timeout_s=600.0)
    with (
        LocalRunPod(
            state_dir=tmp_path, worker_command=WORKER, loadbalancer_settings=settings, quota=4
        ) as runpod,
        httpx.Client(base_url=runpod.url, headers=AUTH, timeout=60) as api,
    ):
        made = api.post("/v2/serverless", json=lb_body("lb-forever")).json()
        base = made["requestUrls"]["base"]
        with api.stream("GET", f"{base}/forever") as response:
            assert response.status_code == 200
            first = next(response.iter_lines())
        assert first == "data: 0"

        def idle() -> bool:
            listed = workers(api, made["id"])
            return bool(listed) and all(w["status"] == "IDLE" for w in listed)

        wait_until(idle, what="the worker free once its caller hung up")


def test_websockets_carry_the_callers_headers_not_the_key(endpoint: dict[str, Any]) -> None:
    url = endpoint["requestUrls"]["base"].replace("http://", "ws://") + "/ws-headers?x=%2F"

    async def talk() -> dict[str, str]:
        headers = {**AUTH, "X-Worker-Token": "mine"}
        async with connect(url, additional_headers=headers, open_timeout=30) as sock:
            seen: dict[str, str] = json.loads(await sock.recv())
            return seen

    seen = asyncio.run(talk())
    assert seen["x-worker-token"] == "mine"
    assert "authorization" not in seen
    assert KEY not in json.dumps(seen)


def test_a_websocket_caller_vanishing_leaves_no_traceback(
    api: httpx.Client, endpoint: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    url = endpoint["requestUrls"]["base"].replace("http://", "ws://") + "/ws"

    async def vanish() -> None:
        sock = await connect(url, additional_headers=AUTH, open_timeout=30)
        await sock.send("one")
        await sock.recv()
        assert sock.transport is not None
        sock.transport.abort()  # no close frame: the caller is just gone

    with caplog.at_level(logging.ERROR):
        asyncio.run(vanish())
        wait_until(
            lambda: all(w["status"] == "IDLE" for w in workers(api, endpoint["id"])),
            what="the relay to end",
        )
        api.get(f"{endpoint['requestUrls']['base']}/echo/after")  # the server goes on
    assert not [r for r in caplog.records if r.exc_info], caplog.text


def test_a_request_waiting_on_a_deleted_endpoint_gets_404(
    api: httpx.Client, create_lb: CreateLb
) -> None:
    made = create_lb(
        "lb-gone", workers={"min": 0, "max": 1, "idleTimeout": 60}, env={"LB_READY_AFTER": "600"}
    )
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(api.get, f"{made['requestUrls']['base']}/echo/x")
        # From zero workers, the first one listed was started for the waiting request.
        wait_until(lambda: workers(api, made["id"]), what="a worker started for the request")
        assert api.delete(f"/v2/serverless/{made['id']}").status_code == 204
        answer = waiting.result(timeout=60)
    assert answer.status_code == 404, answer.text
    assert answer.json() == {"error": f"endpoint {made['id']} not found"}


@pytest.mark.parametrize(("name", "value"), [("PORT", "eighty"), ("PORT_HEALTH", "70000")])
def test_the_http_worker_names_a_bad_port(name: str, value: str) -> None:
    env = {**os.environ, "PORT": "8000", name: value, "PODKIT_HTTP_HOST": "127.0.0.1"}
    done = subprocess.run(
        [sys.executable, "-m", "podkit.worker", "--http"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"{name}={value!r} is not a port" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_body_that_stops_coming_gets_408(endpoint: dict[str, Any]) -> None:
    base = urlsplit(endpoint["requestUrls"]["base"])
    head = (
        f"POST {base.path}/echo/stalled HTTP/1.1\r\nHost: {base.hostname}\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Length: 1000\r\n\r\n"
    )
    with socket.create_connection((str(base.hostname), int(base.port or 80)), timeout=60) as sock:
        sock.sendall(head.encode() + b"x" * 10)  # then nothing, the connection left open
        answer = b""
        while b"\r\n\r\n" not in answer and (part := sock.recv(4096)):
            answer += part
    assert answer.startswith(b"HTTP/1.1 408 "), answer


def test_an_answer_said_to_be_over_the_limit_gets_502(
    api: httpx.Client, endpoint: dict[str, Any]
) -> None:
    """Not a 200 cut off at the payload limit (the module's limit is 100 kB)."""
    answer = api.get(f"{endpoint['requestUrls']['base']}/big", params={"n": 200_000})
    assert answer.status_code == 502
    assert "over the 0.1 MB response payload limit" in answer.json()["error"]
    assert api.get(f"{endpoint['requestUrls']['base']}/big", params={"n": 50_000}).content == (
        b"x" * 50_000
    )


def test_a_worker_gone_mid_websocket_is_no_normal_closure(
    api: httpx.Client, create_lb: CreateLb
) -> None:
    made = create_lb("lb-ws-crash", workers={"min": 1, "max": 1, "idleTimeout": 60})
    base = made["requestUrls"]["base"]
    wait_until(lambda: api.get(f"{base}/echo/warm").status_code == 200, what="a ready worker")

    async def session() -> int | None:
        url = base.replace("http://", "ws://") + "/ws"
        async with connect(url, additional_headers=AUTH, open_timeout=30) as sock:
            await sock.send("one")
            await sock.recv()
            crashed = await asyncio.to_thread(api.post, f"{base}/crash")
            assert crashed.status_code == 502
            try:
                await asyncio.wait_for(sock.recv(), timeout=30)
            except ConnectionClosed as exc:
                return exc.rcvd.code if exc.rcvd else None
        return None

    assert asyncio.run(session()) == 1011
    api.delete(f"/v2/serverless/{made['id']}")
