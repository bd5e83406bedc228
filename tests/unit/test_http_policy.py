"""The retry policy's numbers at their edges: which statuses and methods retry, how many
attempts, the backoff ceiling, Retry-After forms, and what the request counters count.

Driven through httpx's MockTransport with a manual sleep, clock and seeded randomness: no
request leaves the process, so the tests of retried transport errors use a non-loopback
host (`REMOTE`, never resolved), where a refused connection is retried, unlike on loopback.
"""

from __future__ import annotations

import random

import httpx
import pytest

from podkit._http import (
    IDEMPOTENT_METHODS,
    NO_RETRY,
    RETRY_STATUSES,
    HttpClient,
    RetryPolicy,
    retry_after_seconds,
)
from podkit.errors import ServerError, TransportError

POLICY = RetryPolicy(attempts=3, base_delay=1.0, max_delay=5.0)
LOCAL = "http://127.0.0.1:9"
REMOTE = "http://api.runpod.test"


class Server:
    """Answers from a script of statuses (the last one repeats) and records each request."""

    def __init__(self, *statuses: int, headers: dict[str, str] | None = None) -> None:
        self.statuses = list(statuses)
        self.headers = headers or {}
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return httpx.Response(status, headers=self.headers, text=f"answer {len(self.seen)}")


def _client(
    server: Server | httpx.MockTransport,
    sleeps: list[float],
    policy: RetryPolicy = POLICY,
    base: str = LOCAL,
) -> HttpClient:
    transport = server if isinstance(server, httpx.MockTransport) else httpx.MockTransport(server)
    return HttpClient(
        base,
        transport=transport,
        sleep=sleeps.append,
        clock=lambda: 1_000.0,
        rng=random.Random(1),
        retry=policy,
        headers={"X-Test": "1"},
    )


def test_the_policy_defaults() -> None:
    assert RetryPolicy() == RetryPolicy(5, 0.5, 20.0, frozenset({429, 500, 502, 503, 504}))
    assert {429, 500, 502, 503, 504} == RETRY_STATUSES
    assert NO_RETRY.attempts == 1
    assert {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"} == IDEMPOTENT_METHODS


@pytest.mark.parametrize("status", sorted(RETRY_STATUSES))
def test_each_retry_status_is_retried_up_to_the_attempt_limit(status: int) -> None:
    server, sleeps = Server(status), []
    response = _client(server, sleeps).request("GET", "/x")
    assert response.status_code == status
    assert len(server.seen) == 3 and len(sleeps) == 2


@pytest.mark.parametrize("status", [200, 201, 400, 401, 403, 404, 409, 501, 505])
def test_other_statuses_are_answered_at_once(status: int) -> None:
    server, sleeps = Server(status), []
    assert _client(server, sleeps).request("GET", "/x").status_code == status
    assert len(server.seen) == 1 and sleeps == []


def test_a_retry_that_succeeds_returns_the_success() -> None:
    server, sleeps = Server(503, 502, 200), []
    client = _client(server, sleeps)
    response = client.request("delete", "/x")
    assert response.status_code == 200 and response.text == "answer 3"
    assert [r.method for r in server.seen] == ["DELETE"] * 3
    assert client.stats.retries == 2 and client.stats.requests == 3


def test_post_retries_429_only() -> None:
    server, sleeps = Server(429, 429, 429), []
    assert _client(server, sleeps).request("POST", "/x").status_code == 429
    assert len(server.seen) == 3
    for status in (500, 502, 503, 504):
        server = Server(status)
        assert _client(server, []).request("POST", "/x").status_code == status
        assert len(server.seen) == 1


def test_a_per_request_policy_overrides_the_clients() -> None:
    server = Server(503)
    _client(server, []).request("GET", "/x", retry=NO_RETRY)
    assert len(server.seen) == 1


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (9, 5.0)])
def test_backoff_is_full_jitter_under_a_doubling_capped_ceiling(
    attempt: int, ceiling: float
) -> None:
    low, high = random.Random(), random.Random()
    low.uniform = lambda a, b: a  # type: ignore[method-assign]
    high.uniform = lambda a, b: b  # type: ignore[method-assign]
    assert POLICY.backoff(attempt, low) == 0.0
    assert POLICY.backoff(attempt, high) == ceiling


def test_backoff_sleeps_come_from_the_policy_when_no_retry_after() -> None:
    server, sleeps = Server(503), []
    client = _client(server, sleeps, RetryPolicy(attempts=4, base_delay=1.0, max_delay=100.0))
    client.request("GET", "/x")
    rng = random.Random(1)
    assert sleeps == [rng.uniform(0, 1.0), rng.uniform(0, 2.0), rng.uniform(0, 4.0)]


@pytest.mark.parametrize(
    ("header", "slept"),
    [("3", 3.0), ("0", 0.0), ("  4 ", 4.0), ("600", 5.0), ("Thu, 01 Jan 1970 00:16:43 GMT", 3.0)],
)
def test_retry_after_is_honoured_and_capped(header: str, slept: float) -> None:
    server, sleeps = Server(429, 200, headers={"Retry-After": header}), []
    assert _client(server, sleeps).request("GET", "/x").status_code == 200
    assert sleeps == [slept]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("12", 12.0),
        (" 12 ", 12.0),
        ("", None),
        (None, None),
        ("-1", None),
        ("1.5", None),
        ("Thu, 01 Jan 1970 00:16:30 GMT", 0.0),  # in the past: no wait
        ("Thu, 01 Jan 1970 00:16:50 GMT", 10.0),
        ("not a date", None),
        ("\u00b2", None),  # a digit to str.isdigit, not to float()
        ("\u0663", None),  # ARABIC-INDIC DIGIT THREE
        ("1 Jan 99999999999 00:00:00 GMT", None),  # past any clock
    ],
)
def test_retry_after_forms(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, now=1_000.0) == seconds


def test_timeouts_of_an_idempotent_request_are_retried_then_named() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadTimeout("slow", request=request)

    sleeps: list[float] = []
    with pytest.raises(TransportError, match=r"GET http://127\.0\.0\.1:9/x failed: ReadTimeout"):
        _client(httpx.MockTransport(handler), sleeps).request("GET", "/x")
    assert len(calls) == 3 and len(sleeps) == 2


@pytest.mark.parametrize(
    ("error", "retried"),
    [(httpx.ConnectError, True), (httpx.ConnectTimeout, True), (httpx.ReadError, False)],
)
def test_a_post_is_retried_only_when_the_connection_never_opened(
    error: type[httpx.TransportError], retried: bool
) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise error("down", request=request)

    sleeps: list[float] = []
    with pytest.raises(TransportError) as err:
        _client(httpx.MockTransport(handler), sleeps, base=REMOTE).request("POST", "/x")
    assert len(calls) == (3 if retried else 1) and len(sleeps) == len(calls) - 1
    assert err.value.message == f"POST {REMOTE}/x failed: {error.__name__}: down"
    if retried:
        assert err.value.hint == (
            "check the target URL and your network (3 attempts), then run the command again"
        )
    else:
        assert err.value.hint is not None
        assert "after the request was sent, so it was not retried" in err.value.hint
        assert "the server may have acted on it" in err.value.hint


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_refused_connection_on_loopback_fails_at_once_naming_the_local_runpod(
    method: str,
) -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ConnectError("refused", request=request)

    sleeps: list[float] = []
    with pytest.raises(TransportError) as err:
        _client(httpx.MockTransport(handler), sleeps).request(method, "/x")
    assert calls == [method] and sleeps == []
    assert (
        err.value.message == f"{method} {LOCAL}/x failed: nothing listens on {LOCAL} (ConnectError)"
    )
    assert err.value.hint is not None
    assert err.value.hint.startswith("start the local RunPod: podkit emulator start --port 9")


def test_the_counters_count_requests_writes_retries_and_routes() -> None:
    server = Server(503, 200)
    client = _client(server, [])
    client.request("GET", "/a")
    client.request("HEAD", "/a")
    client.request("OPTIONS", "/a")
    client.request("PATCH", "/b")
    client.request("POST", "/c")
    stats = client.stats
    assert stats.requests == 6 and stats.retries == 1
    assert stats.writes == 2
    assert stats.by_route == {
        "GET /a": 2,
        "HEAD /a": 1,
        "OPTIONS /a": 1,
        "PATCH /b": 1,
        "POST /c": 1,
    }


def test_requests_carry_the_clients_headers_json_params_and_a_timeout() -> None:
    server = Server(200)
    client = _client(server, [])
    client.request("put", "/x", json={"a": 1}, params={"q": "v"}, headers={"X-One": "2"})
    (request,) = server.seen
    assert request.method == "PUT" and request.url.params["q"] == "v"
    assert request.headers["X-Test"] == "1" and request.headers["X-One"] == "2"
    assert request.content == b'{"a":1}'
    with client:
        pass  # the context manager closes the client
    with pytest.raises(RuntimeError):
        client.request("GET", "/x")


def test_a_stream_yields_lines_until_the_end_and_reads_error_bodies() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/bad":
            return httpx.Response(404, text="no such stream")
        return httpx.Response(200, content=b"one\ntwo\n", headers={"X-A": "b"})

    client = _client(httpx.MockTransport(handler), [])
    with client.stream("get", "/events") as stream:
        assert stream.status_code == 200 and stream.headers["X-A"] == "b"
        assert list(stream.lines()) == ["one", "two"]
    with client.stream("GET", "/bad") as stream:
        assert stream.read().text == "no such stream"
    assert client.stats.by_route == {"GET /events": 1, "GET /bad": 1}


def test_a_stream_that_goes_idle_ends_quietly_and_a_dead_one_is_named() -> None:
    class IdleBody(httpx.SyncByteStream):
        def __iter__(self):  # type: ignore[no-untyped-def]
            yield b"first\n"
            raise httpx.ReadTimeout("idle")

    def idle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=IdleBody())

    with _client(httpx.MockTransport(idle), []).stream("GET", "/s") as stream:
        assert list(stream.lines()) == ["first"]

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with (
        pytest.raises(TransportError, match=r"GET http://127\.0\.0\.1:9/s failed: ConnectError"),
        _client(httpx.MockTransport(down), []).stream("GET", "/s"),
    ):
        pass


def test_timeouts_default_to_30_s_per_client_and_can_be_set_per_request() -> None:
    seen: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200)

    transport = httpx.MockTransport(handler)
    HttpClient("http://127.0.0.1:9", transport=transport).request("GET", "/x")
    client = HttpClient("http://127.0.0.1:9", transport=transport, timeout=5.0)
    client.request("GET", "/x")
    client.request("GET", "/x", timeout=2.0)
    assert [t["read"] for t in seen] == [30.0, 5.0, 2.0]
    assert [t["connect"] for t in seen] == [30.0, 5.0, 2.0]


def test_redirects_are_answered_not_followed() -> None:
    server = Server(302, headers={"Location": "http://127.0.0.1:9/elsewhere"})
    response = _client(server, []).request("GET", "/x")
    assert response.status_code == 302
    assert [r.url.path for r in server.seen] == ["/x"]


@pytest.mark.parametrize(
    ("method", "attempts", "hint"),
    [
        ("get", 3, "check the target URL and your network (3 attempts), "
         "then run the command again"),
        ("post", 1, "the connection broke after the request was sent, so it was not retried: "
         "the server may have acted on it; check the target and your network, then run again"),
    ],
)  # fmt: skip
def test_a_transport_error_names_the_method_the_url_and_what_to_do(
    method: str, attempts: int, hint: str
) -> None:
    """The URL is shown without its credentials; the hint says whether it was retried."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadError("reset", request=request)

    base = "http://user:s3cr3t-pw@api.runpod.test"
    with pytest.raises(TransportError) as err:
        _client(httpx.MockTransport(handler), [], base=base).request(method, "/v2/x")
    assert len(calls) == attempts
    assert (err.value.method, err.value.url) == (method.upper(), f"{REMOTE}/v2/x")
    assert err.value.message == f"{method.upper()} {REMOTE}/v2/x failed: ReadError: reset"
    assert "s3cr3t-pw" not in str(err.value)
    assert err.value.hint == hint


class Ticking:
    """A clock that moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _bounded(handler: object, clock: object = lambda: 1_000.0, **kw: object) -> HttpClient:
    return HttpClient(
        LOCAL,
        transport=httpx.MockTransport(handler),  # type: ignore[arg-type]
        sleep=lambda s: None,
        clock=clock,  # type: ignore[arg-type]
        retry=POLICY,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_body_that_trickles_past_its_deadline_is_cut_off_not_waited_for(method: str) -> None:
    """A server sending one byte per read timeout would have held podkit for ever."""
    sent: list[int] = []

    def trickle():  # type: ignore[no-untyped-def]
        for n in range(10_000):
            sent.append(n)
            yield b" "

    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(200, content=trickle())

    with pytest.raises(ServerError) as info:
        _bounded(handler, clock=Ticking(), timeout=5.0).request(method, "/v2/x", timeout=2.0)
    assert info.value.message == (
        f"{method} {LOCAL}/v2/x: its answer was still arriving after 8 s; podkit stopped reading it"
    )
    assert calls == [method] and len(sent) < 20  # neither retried nor read to the end


def test_a_body_over_the_size_limit_is_refused_declared_or_streamed() -> None:
    declared = _bounded(lambda r: httpx.Response(200, headers={"Content-Length": "2000"}),
                        max_body=1000)  # fmt: skip
    with pytest.raises(ServerError, match=r"GET .*/x: its answer is larger than 0.000953674 MiB"):
        declared.request("GET", "/x")
    chunks = (b"[" + b"0," * 300 for _ in range(10))
    streamed = _bounded(lambda r: httpx.Response(200, content=chunks), max_body=1000)
    with pytest.raises(ServerError, match="its answer is larger than"):
        streamed.request("GET", "/x")


def test_a_read_answer_keeps_its_status_headers_and_decoded_body() -> None:
    import gzip

    packed = gzip.compress(b'{"ok": true}')
    headers = {"Content-Encoding": "gzip", "Retry-After": "3", "Content-Type": "application/json"}
    answer = _bounded(lambda r: httpx.Response(418, headers=headers, content=packed)).request(
        "GET", "/x"
    )
    assert (answer.status_code, answer.reason_phrase) == (418, "I'm a teapot")
    assert answer.json() == {"ok": True} and answer.headers["Retry-After"] == "3"
