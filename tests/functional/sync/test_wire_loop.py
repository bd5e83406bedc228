"""Byte-range streams on the wire's one loop thread (`_driver`), against a scripted server on
loopback: many callers at once, a sink that wants no more or fails, stalls, short bodies, and
a fetcher closed under a waiting caller."""

from __future__ import annotations

import errno
import os
import resource
import threading
import time
from collections.abc import Callable

import pytest

from podkit.worker.transfer._fetch import Fetcher, RetryableFetchError
from tests.functional.sync.scripted import Answer, ScriptedServer, Seen, Ticks

DATA = os.urandom(3_000_000)
LOOP = "podkit-sync-wire"


def _ranges(seen: Seen) -> Answer:
    """206 with the asked-for bytes of DATA."""
    first, _, last = seen.headers["range"].removeprefix("bytes=").partition("-")
    body = DATA[int(first) : int(last) + 1]
    head = (
        f"HTTP/1.1 206 Partial Content\r\nContent-Length: {len(body)}\r\n"
        f"Content-Range: bytes {first}-{last}/{len(DATA)}\r\n\r\n"
    )
    return head.encode() + body, "keep"


def _collect(fetcher: Fetcher, url: str, first: int, last: int) -> tuple[bytes, set[str]]:
    """The bytes of one range through a sink, and the threads the sink ran on."""
    got: list[bytes] = []
    threads: set[str] = set()

    def sink(blocks: list[bytes]) -> bool:
        threads.add(threading.current_thread().name)
        got.extend(blocks)
        return False

    with fetcher.open(url, {"Range": f"bytes={first}-{last}"}) as response:
        assert response.status == 206
        response.drain(sink)
    return b"".join(got), threads


def test_ranges_from_many_threads_land_whole_through_one_loop_thread(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer],
) -> None:
    server = serve(_ranges)
    fetcher = Fetcher(8, environ={})
    step = 100_000
    results: dict[int, tuple[bytes, set[str]]] = {}

    def worker(index: int) -> None:
        for start in range(index * step * 3, (index + 1) * step * 3, step):
            results[start] = _collect(fetcher, f"{server.url}/data", start, start + step - 1)

    try:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        loops = [t for t in threading.enumerate() if t.name == LOOP]
    finally:
        fetcher.close()
    assert sorted(results) == list(range(0, 24 * step, step))
    for start, (body, sinks_ran_on) in results.items():
        assert body == DATA[start : start + step]
        assert sinks_ran_on == {LOOP}
    assert len(loops) == 1
    assert server.connections <= 8  # connections kept alive between ranges
    assert not [t for t in threading.enumerate() if t.name == LOOP]  # close() ended it


def test_a_sink_that_wants_no_more_cuts_the_stream_and_the_next_range_works(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer],
) -> None:
    # A split segment stops early: the rest of its answer (more than the sockets' buffers
    # hold) must not be read into the next one's.
    big = 60_000_000

    def answer(seen: Seen) -> Answer:
        if seen.target != "/big":
            return _ranges(seen)
        head = (
            f"HTTP/1.1 206 Partial Content\r\nContent-Length: {big}\r\n"
            f"Content-Range: bytes 0-{big - 1}/{big}\r\n\r\n"
        )
        return head.encode() + b"b" * big, "keep"

    server = serve(answer)
    fetcher = Fetcher(2, environ={})
    calls = 0

    def enough(blocks: list[bytes]) -> bool:
        nonlocal calls
        calls += 1
        return True

    try:
        with fetcher.open(f"{server.url}/big", {"Range": f"bytes=0-{big - 1}"}) as first:
            first.drain(enough)
        body, _ = _collect(fetcher, f"{server.url}/data", 10, 20_009)
    finally:
        fetcher.close()
    assert calls == 1
    assert body == DATA[10:20_010]
    assert [seen.connection for seen in server.seen] == [1, 2]  # the cut one was not reused
    deadline = time.monotonic() + 10
    while 1 not in server.closed_by_client and time.monotonic() < deadline:
        time.sleep(0.01)
    assert 1 in server.closed_by_client


def test_a_sink_that_fails_raises_its_own_error_and_the_next_range_works(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer],
) -> None:
    server = serve(_ranges)
    fetcher = Fetcher(2, environ={})

    def full(blocks: list[bytes]) -> bool:
        raise OSError(errno.ENOSPC, "No space left on device")

    try:
        with (
            pytest.raises(OSError, match="No space left") as raised,
            fetcher.open(f"{server.url}/data", {"Range": "bytes=0-999999"}) as response,
        ):
            response.drain(full)
        body, _ = _collect(fetcher, f"{server.url}/data", 0, 999)
    finally:
        fetcher.close()
    assert not isinstance(raised.value, RetryableFetchError)  # the volume's, not the wire's
    assert body == DATA[:1000]


def test_a_short_range_body_is_a_retryable_error(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer],
) -> None:
    def short(seen: Seen) -> Answer:
        answer, _ = _ranges(seen)
        return answer[:-500], "close"

    server = serve(short)
    fetcher = Fetcher(1, environ={})
    try:
        with pytest.raises(RetryableFetchError, match="500 bytes short"):
            _collect(fetcher, f"{server.url}/data", 0, 99_999)
    finally:
        fetcher.close()


@pytest.mark.parametrize("then", ["head", "body"])
def test_a_stalled_range_fails_on_the_stall_timeout_of_the_fetchers_clock(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer], then: str
) -> None:
    def stall(seen: Seen) -> Answer:
        answer, _ = _ranges(seen)
        return (answer[:10] if then == "head" else answer[:5000]), "hold"

    server = serve(stall)
    clock = Ticks(step=10.0)
    fetcher = Fetcher(1, stall_timeout=30.0, environ={}, clock=clock)
    try:
        with pytest.raises(RetryableFetchError, match="stall timeout"):
            _collect(fetcher, f"{server.url}/data", 0, 99_999)
    finally:
        fetcher.close()
    assert clock.now > 30.0


def test_closing_the_fetcher_wakes_a_caller_waiting_on_the_loop(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer],
) -> None:
    def hold(seen: Seen) -> Answer:
        answer, _ = _ranges(seen)
        return answer[:5000], "hold"

    server = serve(hold)
    fetcher = Fetcher(1, stall_timeout=60.0, environ={})
    failures: list[BaseException] = []
    draining = threading.Event()

    def caller() -> None:
        def sink(blocks: list[bytes]) -> bool:
            draining.set()
            return False

        try:
            with fetcher.open(f"{server.url}/data", {"Range": "bytes=0-99999"}) as response:
                response.drain(sink)
        except Exception as exc:  # what the test looks at
            failures.append(exc)

    thread = threading.Thread(target=caller)
    thread.start()
    assert draining.wait(10)
    started = time.monotonic()
    fetcher.close()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert time.monotonic() - started < 10  # not the 60 s stall timeout
    assert len(failures) == 1 and isinstance(failures[0], RetryableFetchError)
    assert "loop has stopped" in str(failures[0])


def test_the_loop_works_when_the_process_has_more_than_1024_files_open(
    serve: Callable[[Callable[[Seen], Answer]], ScriptedServer],
) -> None:
    # A worker with many files open: the loop's wake-up pipe is opened above 1,023, where
    # select() refuses a descriptor.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1300
    if soft < wanted:
        assert hard >= wanted, f"RLIMIT_NOFILE hard limit {hard} is below {wanted}"
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    server = serve(_ranges)
    fetcher = Fetcher(1, environ={})
    try:
        body, _ = _collect(fetcher, f"{server.url}/data", 0, 99_999)
    finally:
        fetcher.close()
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert max(held) > 1023
    assert body == DATA[:100_000]
