"""The engine's HTTP layer (libcurl) against a scripted server on loopback: framing (chunked,
1xx, until-close), keep-alive reuse and stale connections, stalls and short bodies, redirects
and where credentials may follow them."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from podkit.worker.transfer._fetch import Fetcher, FetchError, Pending, RetryableFetchError
from tests.functional.sync.scripted import Answer, ScriptedServer, Seen, Ticks


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    fetcher = Fetcher(4, stall_timeout=0.5, environ={})
    yield fetcher
    fetcher.close()


def _ok(body: bytes) -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def _get(fetcher: Fetcher, url: str, headers: dict[str, str] | None = None) -> bytes:
    with fetcher.open(url, headers or {}) as response:
        assert response.status == 200
        return b"".join(iter(response.read, b""))


def test_chunked_body_with_extensions_and_trailers_then_the_connection_is_reused(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher
) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n"
    )
    server = serve(lambda seen: (chunked if seen.target == "/c" else _ok(b"second"), "keep"))
    assert _get(fetcher, f"{server.url}/c") == b"hello, world"
    assert _get(fetcher, f"{server.url}/d") == b"second"
    assert [s.connection for s in server.seen] == [1, 1]


@pytest.mark.parametrize(
    "pieces",
    [
        [b"5\r\nhello\r", b"\n7\r\n, world\r\n0\r\n\r\n"],  # the CRLF after a chunk, split
        [b"5\r\nhello", b"\r\n", b"7\r", b"\n, world\r\n0\r\n\r\n"],  # every line, split
        [b"5\r\nhel", b"lo\r\n7\r\n, world\r\n0\r", b"\n\r\n"],  # a chunk and the end
    ],
)
def test_chunk_framing_split_across_reads(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer],
    fetcher: Fetcher,
    pieces: list[bytes],
) -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    server = serve(lambda seen: ([head, *pieces] if seen.target == "/c" else _ok(b"next"), "keep"))
    assert _get(fetcher, f"{server.url}/c") == b"hello, world"
    assert _get(fetcher, f"{server.url}/d") == b"next"
    assert [s.connection for s in server.seen] == [1, 1]  # the framing ended where it should


def test_interim_1xx_answers_are_skipped(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher
) -> None:
    early = b"HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n"
    server = serve(lambda seen: (early + _ok(b"final"), "keep"))
    assert _get(fetcher, f"{server.url}/f") == b"final"


def test_body_without_length_runs_to_close_and_the_connection_is_not_reused(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher
) -> None:
    server = serve(lambda seen: (b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 70_000, "close"))
    assert _get(fetcher, f"{server.url}/a") == b"x" * 70_000
    assert _get(fetcher, f"{server.url}/b") == b"x" * 70_000
    assert server.connections == 2


def test_a_kept_alive_connection_closed_by_the_server_is_replaced_without_an_error(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher
) -> None:
    # The server closes after each answer without saying so (an idle timeout on its side).
    server = serve(lambda seen: (_ok(seen.target.encode()), "close"))
    assert [_get(fetcher, f"{server.url}/{i}") for i in range(3)] == [b"/0", b"/1", b"/2"]
    assert server.connections == 3


def test_a_leaving_thread_closes_only_its_own_kept_alive_connections(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher
) -> None:
    server = serve(lambda seen: (_ok(b"kept"), "keep"))
    assert _get(fetcher, f"{server.url}/main") == b"kept"  # connection 1, this thread's

    def leaving() -> None:
        assert _get(fetcher, f"{server.url}/pool") == b"kept"  # connection 2
        fetcher.release_thread()

    thread = threading.Thread(target=leaving)
    thread.start()
    thread.join()
    deadline = time.monotonic() + 10
    while not server.closed_by_client and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.closed_by_client == [2]
    assert _get(fetcher, f"{server.url}/again") == b"kept"
    assert [s.connection for s in server.seen] == [1, 2, 1]  # this thread's is still alive


def test_a_short_body_is_a_retryable_error(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher
) -> None:
    server = serve(
        lambda seen: (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"y" * 40, "close")
    )
    with pytest.raises(RetryableFetchError, match="60 bytes short"):
        _get(fetcher, f"{server.url}/short")


def test_a_stalled_body_fails_once_the_stall_timeout_passed_on_the_fetchers_clock(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer],
) -> None:
    # The fetcher looks at its clock at least every half second of waiting, and this clock
    # moves 10 s at each look: the 30 s stall timeout passes at the fourth look after the last
    # byte, long before the server gives up (it closes after 5 s, which reads as a short body).
    half = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf!"
    server = serve(lambda seen: (half, "hold"))
    clock = Ticks(step=10.0)
    fetcher = Fetcher(1, stall_timeout=30.0, environ={}, clock=clock)
    try:
        with pytest.raises(RetryableFetchError, match="stall timeout"):
            _get(fetcher, f"{server.url}/stall")
    finally:
        fetcher.close()
    assert clock.now > 30.0  # not before the timeout had passed on that clock


def test_redirects_keep_credentials_on_the_origin_and_drop_them_off_it(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher
) -> None:
    cdn = serve(lambda seen: (_ok(b"weights"), "keep"))

    def origin(seen: Seen) -> Answer:
        if seen.target == "/resolve/model.bin":
            return (
                b"HTTP/1.1 302 Found\r\nLocation: /lfs/model.bin\r\nContent-Length: 0\r\n\r\n",
                "keep",
            )
        location = f"{cdn.url}/signed/model.bin?sig=abc"
        return (
            f"HTTP/1.1 307 Moved\r\nLocation: {location}\r\nContent-Length: 3\r\n\r\nbye".encode(),
            "keep",
        )

    hub = serve(origin)
    body = _get(fetcher, f"{hub.url}/resolve/model.bin", {"Authorization": "Bearer hf_secret"})
    assert body == b"weights"
    assert [s.headers.get("authorization") for s in hub.seen] == ["Bearer hf_secret"] * 2
    assert cdn.seen[0].target == "/signed/model.bin?sig=abc"
    assert "authorization" not in cdn.seen[0].headers


def test_a_redirect_loop_stops_with_an_error_that_names_no_secret(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher
) -> None:
    loop = b"HTTP/1.1 302 Found\r\nLocation: /again?token=s3cret\r\nContent-Length: 0\r\n\r\n"
    server = serve(lambda seen: (loop, "keep"))
    with pytest.raises(FetchError, match="more than 5 redirects") as caught:
        _get(fetcher, f"{server.url}/start?token=s3cret")
    assert "s3cret" not in str(caught.value)
    assert len(server.seen) == 6


@pytest.mark.parametrize("status", [403, 404])
def test_a_redirect_to_a_url_with_a_password_never_shows_it(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher, status: int
) -> None:
    def answer(seen: Seen) -> Answer:
        if seen.target.startswith("/start"):
            port = server.port
            location = f"http://cdn:pa55w0rd@127.0.0.1:{port}/signed?sig=s3cret"
            return f"HTTP/1.1 302 Found\r\nLocation: {location}\r\n".encode() + (
                b"Content-Length: 0\r\n\r\n"
            ), "keep"
        return f"HTTP/1.1 {status} No\r\nContent-Length: 0\r\n\r\n".encode(), "keep"

    server = serve(answer)
    with pytest.raises(FetchError) as caught:
        fetcher.text(f"{server.url}/start", {})
    assert f"HTTP {status}" in str(caught.value)
    assert "pa55w0rd" not in str(caught.value) and "s3cret" not in str(caught.value)


def test_a_refused_connection_is_retryable_and_names_no_query(fetcher: Fetcher) -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(RetryableFetchError) as caught:
        _get(fetcher, f"http://127.0.0.1:{port}/x?X-Amz-Signature=s3cret")
    assert "s3cret" not in str(caught.value)
    assert str(caught.value).endswith("failed: connection refused")


def test_ranges_of_a_redirected_file_go_straight_to_the_cdn_until_it_refuses(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher
) -> None:
    blob = bytes(range(256)) * 16
    valid = {"1"}  # signatures the CDN still accepts

    def cdn(seen: Seen) -> Answer:
        if seen.target.rpartition("sig=")[2] not in valid:
            return b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "keep"
        first, last = map(int, seen.headers["range"].removeprefix("bytes=").split("-"))
        body = blob[first : last + 1]
        head = (
            f"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {first}-{last}/{len(blob)}"
            f"\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body, "keep"

    cdn_server = serve(cdn)

    def hub(seen: Seen) -> Answer:
        location = f"{cdn_server.url}/blob?sig={len(hub_server.seen)}"  # a fresh signature
        return (
            f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode(),
            "keep",
        )

    hub_server = serve(hub)
    url = f"{hub_server.url}/resolve/main/model.bin"

    def get(first: int, last: int) -> bytes:
        headers = {"Authorization": "Bearer hf_secret", "Range": f"bytes={first}-{last}"}
        with fetcher.open(url, headers) as response:
            assert response.status == 206
            return b"".join(iter(response.read, b""))

    assert get(0, 1023) + get(1024, 2047) + get(2048, 4095) == blob
    assert len(hub_server.seen) == 1  # asked once; the later ranges went straight to the CDN
    assert len(cdn_server.seen) == 3
    assert all("authorization" not in seen.headers for seen in cdn_server.seen)
    valid.clear()
    valid.add("2")  # the first signature expired: the hub is asked again and signs anew
    assert get(0, 99) == blob[:100]
    assert len(hub_server.seen) == 2
    assert [seen.target for seen in cdn_server.seen[-2:]] == ["/blob?sig=1", "/blob?sig=2"]


def test_listings_are_asked_for_compressed_and_decoded_and_data_as_served(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher
) -> None:
    document = json.dumps({"items": [f"file-{i}" for i in range(500)]}).encode()
    packed = gzip.compress(document)

    def script(seen: Seen) -> Answer:
        if "gzip" not in seen.headers.get("accept-encoding", ""):
            return _ok(document), "keep"
        head = f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(packed)}\r\n\r\n"
        return head.encode() + packed, "keep"

    server = serve(script)
    assert fetcher.json(f"{server.url}/list", {}) == json.loads(document)
    assert "gzip" in server.seen[0].headers["accept-encoding"]
    assert _get(fetcher, f"{server.url}/data") == document  # not asked for: none sent
    assert "accept-encoding" not in server.seen[1].headers
    # A source that asks for gzip itself (a GCS object stored gzip-encoded) gets it as stored.
    assert _get(fetcher, f"{server.url}/data", {"Accept-Encoding": "gzip"}) == packed


def test_a_body_left_before_its_end_drops_its_connection_and_the_next_request_works(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher
) -> None:
    big = b"b" * 50_000_000  # more than the client and both sockets' buffers hold
    server = serve(lambda seen: (_ok(big if seen.target == "/big" else b"small"), "keep"))
    with fetcher.open(f"{server.url}/big", {}) as response:
        assert len(response.read(1024)) == 1024  # then left: a stopped sync, a bad checksum
    assert _get(fetcher, f"{server.url}/small") == b"small"
    assert [s.connection for s in server.seen] == [1, 2]  # the half-read one was not reused
    deadline = time.monotonic() + 10
    while 1 not in server.closed_by_client and time.monotonic() < deadline:
        time.sleep(0.01)
    assert 1 in server.closed_by_client


def _all_in(fetcher: Fetcher, pendings: list[Pending]) -> None:
    deadline = time.monotonic() + 10
    while not all(p.complete for p in pendings):
        assert time.monotonic() < deadline, "transfers still running after 10 s"
        fetcher.step()


def test_many_gets_in_one_loop_land_whole_and_follow_redirects_like_open(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher
) -> None:
    cdn = serve(lambda seen: (_ok(b"from the cdn"), "keep"))

    def origin(seen: Seen) -> Answer:
        if seen.target == "/cdn.json":
            location = f"{cdn.url}/signed/cdn.json?sig=abc"
            head = f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
            return head.encode(), "keep"
        if seen.target == "/moved.json":
            return b"HTTP/1.1 301 Moved\r\nLocation: /f3.json\r\nContent-Length: 0\r\n\r\n", "keep"
        return _ok(f"body of {seen.target}".encode()), "keep"

    hub = serve(origin)
    auth = {"Authorization": "Bearer hf_secret"}
    names = ["/f1.json", "/f2.json", "/moved.json", "/cdn.json"]
    pendings = [fetcher.start(f"{hub.url}{name}", auth, at_most=100) for name in names]
    _all_in(fetcher, pendings)
    assert [p.status for p in pendings] == [200, 200, 301, 302]
    assert [p.body() for p in pendings[:2]] == [b"body of /f1.json", b"body of /f2.json"]
    followed = [hop for hop in map(fetcher.follow, pendings[2:]) if hop is not None]
    assert len(followed) == 2
    _all_in(fetcher, followed)
    assert [p.body() for p in followed] == [b"body of /f3.json", b"from the cdn"]
    assert fetcher.follow(pendings[0]) is None  # a 200 is no redirect
    assert [s.headers.get("authorization") for s in hub.seen] == ["Bearer hf_secret"] * 5
    assert "authorization" not in cdn.seen[0].headers
    assert fetcher.data_requests == 4  # a redirect's next hop is the same request, as in open


def test_a_loop_transfer_cut_short_fails_as_retryable_and_the_next_one_works(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher
) -> None:
    def script(seen: Seen) -> Answer:
        if seen.target == "/short":
            return b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part", "close"
        return _ok(b"whole"), "keep"

    server = serve(script)
    short = fetcher.start(f"{server.url}/short", {}, at_most=100)
    _all_in(fetcher, [short])
    with pytest.raises(RetryableFetchError, match="ended short"):
        short.body()
    after = fetcher.start(f"{server.url}/after", {}, at_most=5)
    _all_in(fetcher, [after])
    assert (after.status, after.body()) == (200, b"whole")


def test_a_loop_body_longer_than_allowed_fails_announced_or_not(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher
) -> None:
    def script(seen: Seen) -> Answer:
        if seen.target == "/unannounced":  # no length: the body runs to the close
            return [b"HTTP/1.1 200 OK\r\n\r\n", b"x" * 5000, b"x" * 5000], "close"
        return _ok(b"y" * 10_000), "keep"

    server = serve(script)
    pendings = [fetcher.start(f"{server.url}{t}", {}, at_most=4096) for t in ("/a", "/unannounced")]
    _all_in(fetcher, pendings)
    for pending in pendings:
        with pytest.raises(RetryableFetchError):
            pending.body()


def test_a_step_reports_each_completed_loop_transfer_once(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher
) -> None:
    server = serve(lambda seen: (_ok(seen.target.encode()), "keep"))
    pendings = [fetcher.start(f"{server.url}/f{i}", {}, at_most=100) for i in range(5)]
    reported: list[Pending] = []
    deadline = time.monotonic() + 10
    while len(reported) < len(pendings):
        assert time.monotonic() < deadline, "transfers still running after 10 s"
        reported += fetcher.step()
    assert sorted(map(id, reported)) == sorted(map(id, pendings))
    assert [p.body() for p in pendings] == [f"/f{i}".encode() for i in range(5)]
    assert fetcher.step() == []


def test_a_kept_handle_serves_each_kind_of_request_with_that_kinds_options(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], fetcher: Fetcher
) -> None:
    # One thread, one connection: the same easy handle serves a loop GET, a listing (asked
    # for compressed, decoded) and a streamed data GET (as served), in turn, twice.
    document = json.dumps({"items": list(range(300))}).encode()
    packed = gzip.compress(document)

    def script(seen: Seen) -> Answer:
        if seen.target == "/list" and "gzip" in seen.headers.get("accept-encoding", ""):
            head = f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(packed)}"
            return f"{head}\r\n\r\n".encode() + packed, "keep"
        return _ok(f"body of {seen.target}".encode()), "keep"

    server = serve(script)
    for round in range(2):
        loop = fetcher.start(f"{server.url}/small{round}", {}, at_most=100)
        _all_in(fetcher, [loop])
        assert loop.body() == f"body of /small{round}".encode()
        assert fetcher.json(f"{server.url}/list", {}) == json.loads(document)
        assert _get(fetcher, f"{server.url}/data") == b"body of /data"
    assert ["accept-encoding" in s.headers for s in server.seen] == [False, True, False] * 2
    assert {s.connection for s in server.seen} == {1}
