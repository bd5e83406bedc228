"""A small HTTP fault proxy for the model-sync tests: resets, stalls, wrong statuses, flipped
bytes, slow bodies.

It forwards GET/HEAD to one upstream (127.0.0.1 only) and applies queued faults in order, one
per matching request. Each fault has a remaining count; when exhausted the proxy forwards
faithfully. Stalls are bounded so a stuck client can never hang a test run for long.
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
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
    `after_bytes`), "slow" (forward the body in 256 KiB blocks, `seconds` apart; at most 30 s).
    """

    kind: str
    count: int = 1
    match: str = ""
    status: int = 503
    after_bytes: int = 0
    seconds: float = 5.0
    retry_after: str | None = None


@dataclass
class ProxyStats:
    requests: int = 0
    body_bytes: int = 0
    applied: list[str] = field(default_factory=list)
    authorization: list[str] = field(default_factory=list)  # what clients sent, for auth tests


class FaultProxy:
    """Threaded proxy on 127.0.0.1:<free port> in front of `upstream` (host:port)."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        if upstream_host not in ("127.0.0.1", "localhost"):
            raise ValueError("the fault proxy only forwards to loopback")
        self.upstream = (upstream_host, upstream_port)
        self.faults: list[Fault] = []
        self.stats = ProxyStats()
        self._lock = threading.Lock()
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

    def take(self, path: str) -> Fault | None:
        with self._lock:
            self.stats.requests += 1
            for fault in self.faults:
                if fault.count > 0 and fault.match in path:
                    fault.count -= 1
                    self.stats.applied.append(fault.kind)
                    return fault
        return None

    def count_bytes(self, n: int) -> None:
        with self._lock:
            self.stats.body_bytes += n


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
            fault = proxy.take(self.path)
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
                self._relay(upstream, fault, head=head)
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
            self, upstream: http.client.HTTPResponse, fault: Fault | None, *, head: bool
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
            while True:
                block = upstream.read(256 * 1024)
                if not block:
                    break
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
