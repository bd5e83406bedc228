"""The shared retry policy, driven through httpx's MockTransport (no network)."""

from __future__ import annotations

import random

import httpx
import pytest

from podkit._http import HttpClient, RetryPolicy, retry_after_seconds
from podkit.errors import PodkitError, TransportError
from podkit.runpod import ApiKey
from podkit.runpod._base import ApiBase


def _client(
    handler: httpx.MockTransport, sleeps: list[float], base: str = "http://api.runpod.test"
) -> HttpClient:
    return HttpClient(
        base,
        transport=handler,
        sleep=sleeps.append,
        clock=lambda: 1_000.0,
        rng=random.Random(7),
        retry=RetryPolicy(attempts=4, base_delay=0.1, max_delay=5.0),
    )


def test_429_honours_retry_after_then_succeeds() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(200)])
    sleeps: list[float] = []
    client = _client(httpx.MockTransport(lambda request: next(answers)), sleeps)
    assert client.request("POST", "/x").status_code == 200
    assert sleeps == [3.0]
    assert client.stats.requests == 2
    assert client.stats.writes == 2


def test_post_is_not_retried_on_5xx_but_get_is() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(503)

    client = _client(httpx.MockTransport(handler), [])
    assert client.request("POST", "/x").status_code == 503
    assert calls == ["POST"]
    assert client.request("GET", "/x").status_code == 503
    assert calls == ["POST", "GET", "GET", "GET", "GET"]


def test_connection_refused_becomes_transport_error_naming_the_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    sleeps: list[float] = []
    client = _client(httpx.MockTransport(handler), sleeps)
    with pytest.raises(TransportError, match=r"GET http://api.runpod.test/v2/x failed"):
        client.request("GET", "/v2/x")
    assert len(sleeps) == 3
    assert all(0 <= s <= 5.0 for s in sleeps)


def test_nothing_listening_on_loopback_says_start_the_local_runpod_without_retrying() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    sleeps: list[float] = []
    client = _client(httpx.MockTransport(handler), sleeps, base="http://127.0.0.1:8765")
    with pytest.raises(
        TransportError, match=r"nothing listens on http://127\.0\.0\.1:8765"
    ) as info:
        client.request("GET", "/v2/endpoints")
    assert info.value.hint is not None and "podkit emulator start --port 8765" in info.value.hint
    assert sleeps == []


def test_retry_after_parses_http_dates() -> None:
    assert retry_after_seconds("Thu, 01 Jan 1970 00:16:50 GMT", now=1_000.0) == 10.0
    assert retry_after_seconds("soon", now=0.0) is None
    assert retry_after_seconds(None, now=0.0) is None


def test_hints_say_retried_only_when_something_was_retried() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"detail": "down"})

    api = ApiBase(_client(httpx.MockTransport(refuse), []), ApiKey("k", "test"))
    with pytest.raises(PodkitError) as write:
        api.request("POST", "/v2/serverless")
    assert "after retries" not in (write.value.hint or "")
    assert "may or may not have applied" in (write.value.hint or "")
    with pytest.raises(PodkitError) as read:
        api.request("GET", "/v2/serverless")
    assert "after retries" in (read.value.hint or "")


def test_a_post_whose_connection_broke_after_sending_is_not_retried() -> None:
    calls: list[str] = []

    def drop(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    client = _client(httpx.MockTransport(drop), [])
    with pytest.raises(TransportError) as caught:
        client.request("POST", "/v2/serverless")
    assert calls == ["POST"] and "not retried" in (caught.value.hint or "")
