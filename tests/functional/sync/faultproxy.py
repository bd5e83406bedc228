"""A small HTTP fault proxy for the model-sync tests: resets, stalls, wrong statuses, flipped
bytes, slow bodies, and bodies held until the client asks for part of them elsewhere.

It forwards GET/HEAD to one upstream (127.0.0.1 only) and applies queued faults in order, one
per matching request. Each fault has a remaining count; when exhausted the proxy forwards
faithfully. Stalls and holds are bounded so a stuck client can never hang a test run for long.
Every request is recorded as it arrives (`ProxyStats.seen`), so a test reads what the client
asked for without waiting for a server's log.
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


@dataclass
class Fault:
    """One kind of misbehaviour, applied to the next `count` requests whose path contains `match`.

    kind: "delay" (wait `seconds`, then forward faithfully),
    "status" (answer `status` without forwarding), "reset" (RST after `after_bytes` of
    body), "stall" (stop sending after `after_bytes` for `seconds`, then close), "ignore_range"
    (drop the Range header: a 200 with the whole body), "flip" (invert the body byte at
    `after_bytes`), "slow" (forward the body in 256 KiB blocks, `seconds` apart; at most 30 s),
    "hold" (forward the first `after_bytes` of the body and, if more is to come, wait until
    `tails` later requests for the same path asked for bytes inside this one's range, or until
    `until()` holds when it is given; at most `seconds`, then go on faithfully).
    """

    kind: str
    count: int = 1
    match: str = ""
    status: int = 503
    after_bytes: int = 0
    seconds: float = 5.0
    retry_after: str | None = None
    tails: int = 1
    until: Callable[[], bool] | None = None


@dataclass(frozen=True, eq=False)
class Seen:
    """One request as it arrived: its path, its Range header ("" without one), and the client's
    port (one per connection)."""

    path: str
    range: str
    client_port: int

    @property
    def span(self) -> tuple[int, int] | None:
        """The first and last byte asked for; None without a `bytes=a-b` range."""
        first, _, last = self.range.removeprefix("bytes=").partition("-")
        if not self.range.startswith("bytes=") or not first.isdigit() or not last.isdigit():
            return None
        return int(first), int(last)


@dataclass
class ProxyStats:
    requests: int = 0
    body_bytes: int = 0
    applied: list[str] = field(default_factory=list)
    authorization: list[str] = field(default_factory=list)  # what clients sent, for auth tests
    seen: list[Seen] = field(default_factory=list)  # every request, in the order it arrived
    holds_timed_out: int = 0  # holds that ended at their bound, not on their release


class FaultProxy:
    """Threaded proxy on 127.0.0.1:<free port> in front of `upstream` (host:port)."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        if upstream_host not in ("127.0.0.1", "localhost"):
            raise ValueError("the fault proxy only forwards to loopback")
        self.upstream = (upstream_host, upstream_port)
        self.faults: list[Fault] = []
        self.stats = ProxyStats()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def reset(self) -> None:
        with self._lock:
            self.faults.clear()
            self.stats = ProxyStats()

    def take(self, seen: Seen) -> Fault | None:
        with self._lock:
            self.stats.requests += 1
            self.stats.seen.append(seen)
            self._arrived.notify_all()
            path = seen.path
            for fault in self.faults:
                if fault.count > 0 and fault.match in path:
                    fault.count -= 1
                    self.stats.applied.append(fault.kind)
                    return fault
        return None

    def count_bytes(self, n: int) -> None:
        with self._lock:
            self.stats.body_bytes += n

    def seen_for(self, match: str) -> list[Seen]:
        """The requests whose path contains `match`, in the order they arrived."""
        with self._lock:
            return [seen for seen in self.stats.seen if match in seen.path]

    def tails_of(self, held: Seen) -> list[Seen]:
        """Later requests for `held`'s path that start inside its range (past its first byte)."""
        first, last = held.span or (0, 2**63)
        with self._lock:
            at = next(i for i, seen in enumerate(self.stats.seen) if seen is held)
            later = self.stats.seen[at + 1 :]
        return [
            seen
            for seen in later
            if seen.path == held.path and seen.span is not None and first < seen.span[0] <= last
        ]

    def hold(self, held: Seen, fault: Fault) -> None:
        """Wait until `fault`'s release holds (see Fault "hold"), at most its `seconds`."""

        def released() -> bool:
            if fault.until is not None:
                return fault.until()
            return len(self.tails_of(held)) >= fault.tails

        give_up = time.monotonic() + min(fault.seconds, 30.0)
        while not released():
            if time.monotonic() >= give_up:
                with self._lock:
                    self.stats.holds_timed_out += 1
                return
            with self._arrived:  # woken by every request; `until` may change without one
                self._arrived.wait(timeout=0.02)


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_HEAD(self) -> None:
            self._forward(head=True)

        def do_GET(self) -> None:
            self._forward(head=False)

        def _forward(self, *, head: bool) -> None:
            proxy.stats.authorization.append(self.headers.get("Authorization", ""))
            seen = Seen(self.path, self.headers.get("Range", ""), self.client_address[1])
            fault = proxy.take(seen)
            if fault is not None and fault.kind == "delay":
                time.sleep(min(fault.seconds, 30.0))
            if fault is not None and fault.kind == "status":
                self._answer_status(fault)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            if fault is not None and fault.kind == "ignore_range":
                headers.pop("Range", None)
                headers.pop("range", None)
            conn = http.client.HTTPConnection(*proxy.upstream, timeout=30)
            try:
                conn.request(self.command, self.path, headers=headers)
                upstream = conn.getresponse()
                self._relay(upstream, fault, seen, head=head)
            finally:
                conn.close()

        def _answer_status(self, fault: Fault) -> None:
            body = f"fault proxy: {fault.status}\n".encode()
            self.send_response(fault.status)
            if fault.retry_after is not None:
                self.send_header("Retry-After", fault.retry_after)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _relay(
            self,
            upstream: http.client.HTTPResponse,
            fault: Fault | None,
            seen: Seen,
            *,
            head: bool,
        ) -> None:
            self.send_response(upstream.status)
            for key, value in upstream.getheaders():
                if key.lower() not in HOP_HEADERS:
                    self.send_header(key, value)
            self.end_headers()
            if head:
                return
            sent = 0
            slow_until = time.monotonic() + 30.0
            holding = fault is not None and fault.kind == "hold"
            while True:
                block = upstream.read(256 * 1024)
                if not block:
                    break
                if holding and fault is not None and sent >= fault.after_bytes:
                    holding = False  # held before more body, never after the last byte
                    proxy.hold(seen, fault)
                block = self._apply(fault, block, sent)
                if block is None:
                    return
                self.wfile.write(block)
                sent += len(block)
                proxy.count_bytes(len(block))
                if fault is not None and fault.kind == "slow" and time.monotonic() < slow_until:
                    time.sleep(fault.seconds)

        def _apply(self, fault: Fault | None, block: bytes, sent: int) -> bytes | None:
            if fault is None or not sent <= fault.after_bytes < sent + len(block):
                if (
                    fault is not None
                    and fault.kind in ("reset", "stall")
                    and sent > fault.after_bytes
                ):
                    return None
                return block
            cut = fault.after_bytes - sent
            if fault.kind == "flip":
                flipped = bytearray(block)
                flipped[cut] ^= 0xFF
                return bytes(flipped)
            if fault.kind in ("reset", "stall"):
                self.wfile.write(block[:cut])
                self.wfile.flush()
                if fault.kind == "stall":
                    time.sleep(min(fault.seconds, 30.0))
                self._abort()
                return None
            return block

        def _abort(self) -> None:
            self.close_connection = True
            try:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
            except OSError:
                pass

    return Handler
