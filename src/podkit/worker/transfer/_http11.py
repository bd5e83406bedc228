"""A small HTTP/1.1 client for the transfer engine: keep-alive connections held per thread and
origin, response bodies read straight off the socket.

Why not urllib3 (used before, bench/RESULTS.md "Model sync"): on two cores the engine is
CPU-bound, and urllib3 spent about 420 us of CPU per request against 230 us for bare
http.client, plus its pool's queue locks, which every one of 16 threads took twice per file.
Here a thread keeps its own connection to each origin, so a request takes no lock at all.

Large bodies over plain TCP: the socket is blocking with SO_RCVTIMEO as the stall timeout and
bodies are read with MSG_WAITALL, so a block (256 KiB, the engine's read size) wakes the
reading thread (and takes the GIL) once, where a plain read wakes it for every batch of
segments. TLS sockets cannot take recv flags and use an ordinary socket timeout instead.

Every transport failure is an OSError (`TransportError` for a malformed or cut-short answer).
"""

from __future__ import annotations

import functools
import re
import socket
import ssl
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

MAX_HEAD = 64 * 1024
_RECV = 64 * 1024
_UNSAFE_IN_TARGET = re.compile(r"[\x00-\x20\x7f-\U0010ffff]")


class TransportError(OSError):
    """The peer closed early or answered something that is not HTTP/1.1."""


class _Stale(TransportError):
    """A reused keep-alive connection was closed by the server before it answered."""


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)([^#]*)")


def split_url(url: str) -> tuple[Origin, str]:
    """(origin, request target) of an http(s) URL."""
    match = _URL.match(url)
    if match is None:
        raise TransportError("not an absolute http(s) URL")
    scheme, netloc, target = match.groups()
    if not target.startswith("/"):
        target = "/" + target
    if _UNSAFE_IN_TARGET.search(target):
        target = _UNSAFE_IN_TARGET.sub(lambda found: quote(found.group()), target)
    return _origin(scheme.lower(), netloc), target


@functools.lru_cache(maxsize=64)
def _origin(scheme: str, netloc: str) -> Origin:
    # Parsed once per origin: a sync sends thousands of requests to the same few hosts.
    parts = urlsplit(f"{scheme}://{netloc}")
    if scheme not in ("http", "https") or not parts.hostname:
        raise TransportError(f"not an http(s) URL: {scheme}://{parts.hostname or ''}")
    port = parts.port or (443 if scheme == "https" else 80)
    host = parts.hostname
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise TransportError("a host name that IDNA cannot encode") from None
    return Origin(scheme, host, port)


class Connection:
    """One socket to one origin, carrying one request at a time."""

    def __init__(
        self, origin: Origin, *, timeout: float, context: ssl.SSLContext | None = None
    ) -> None:
        sock = socket.create_connection((origin.host, origin.port), timeout=min(10.0, timeout))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.waitall = 0
        if origin.scheme == "https":
            if context is None:
                raise ValueError("an https origin needs a TLS context")
            try:
                sock = context.wrap_socket(sock, server_hostname=origin.host)
            except BaseException:
                sock.close()
                raise
            sock.settimeout(timeout)
        else:
            sock.settimeout(None)  # blocking: the kernel's timeouts below bound every call
            seconds = int(timeout)
            timeval = struct.pack("ll", seconds, int((timeout - seconds) * 1_000_000))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
            self.waitall = socket.MSG_WAITALL
        self.sock = sock
        self.origin = origin
        self.reused = False
        self.buffer = bytearray()  # received, not yet consumed
        self._scratch = bytearray()

    def close(self) -> None:
        self.sock.close()

    def send(self, method: str, target: str, headers: dict[str, str]) -> None:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.origin.host_header}"]
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise ValueError(f"header {name!r} holds a line break")
            lines.append(f"{name}: {value}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def read_head(self) -> tuple[int, dict[str, str], bool]:
        """(status, headers with lower-case names, keep-alive) of the next final response."""
        while True:
            head = self._take_head()
            status_line, *lines = head.split("\r\n")
            version, _, rest = status_line.partition(" ")
            code = rest[:3]
            if not version.startswith("HTTP/1.") or not code.isdigit():
                raise TransportError(f"not an HTTP/1.x status line: {status_line[:40]!r}")
            status = int(code)
            if 100 <= status < 200:
                continue  # 100 Continue, 103 Early Hints: the final answer follows
            headers: dict[str, str] = {}
            for line in lines:
                name, _, value = line.partition(":")
                key, value = name.strip().lower(), value.strip()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
            keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
            return status, headers, keep

    def _take_head(self) -> str:
        closed = "the connection closed before the response headers"
        return self._read_until(b"\r\n\r\n", closed, may_be_stale=self.reused).decode("latin-1")

    def read_line(self) -> bytes:
        return self._read_until(b"\r\n", "the connection closed inside a chunked body")

    def _read_until(self, delimiter: bytes, closed: str, *, may_be_stale: bool = False) -> bytes:
        """The bytes before `delimiter`, which is consumed too."""
        while (end := self.buffer.find(delimiter)) < 0:
            if len(self.buffer) > MAX_HEAD:
                raise TransportError("more than 64 KiB of response headers")
            data = self.sock.recv(_RECV)
            if not data:
                if may_be_stale and not self.buffer:
                    raise _Stale("the server closed a kept-alive connection")
                raise TransportError(closed)
            self.buffer += data
        found = bytes(self.buffer[:end])
        del self.buffer[: end + len(delimiter)]
        return found

    def read_some(self, amount: int) -> bytes:
        """Up to `amount` bytes (all of them unless the peer closes or stalls); b'' at EOF."""
        if self.buffer:
            data = bytes(self.buffer[:amount])
            del self.buffer[:amount]
            return data
        if self.waitall:
            return self.sock.recv(amount, self.waitall)
        return self._recv_tls(amount)

    def _recv_tls(self, amount: int) -> bytes:
        # TLS hands out one record (16 KiB) per call: gather them into one reused buffer
        # rather than allocating `amount` bytes for each record.
        if len(self._scratch) < amount:
            self._scratch = bytearray(amount)
        view = memoryview(self._scratch)[:amount]
        got = 0
        while got < amount and (count := self.sock.recv_into(view[got:])):
            got += count
        return bytes(view[:got])


class Response:
    """A response whose body is read with `read()`; b'' once the body is complete."""

    def __init__(
        self,
        conn: Connection,
        status: int,
        headers: dict[str, str],
        *,
        keep: bool,
        bodyless: bool,
        release: _Release,
    ) -> None:
        self.status = status
        self.headers = headers
        self._conn: Connection | None = conn
        self._keep = keep
        self._release = release
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self._chunk_left = 0
        length = headers.get("content-length")
        self._remaining: int | None = None
        if bodyless:
            self._remaining = 0
        elif not self._chunked and length is not None:
            if not length.isdigit():
                raise TransportError(f"a Content-Length that is not a number: {length[:20]!r}")
            self._remaining = int(length)
        elif not self._chunked:
            self._keep = False  # the body runs until the server closes the connection
        self.complete = False
        if self._remaining == 0:
            self._done()

    def read(self, amount: int) -> bytes:
        conn = self._conn
        if self.complete or conn is None:
            return b""
        if self._chunked:
            return self._read_chunked(conn, amount)
        if self._remaining is None:
            data = conn.read_some(amount)
            if not data:
                self._done()
            return data
        data = conn.read_some(min(amount, self._remaining))
        if not data:
            raise TransportError(f"the body ended {self._remaining} bytes short")
        self._remaining -= len(data)
        if not self._remaining:
            self._done()
        return data

    def _read_chunked(self, conn: Connection, amount: int) -> bytes:
        if not self._chunk_left:
            size_field = conn.read_line().split(b";")[0].strip()
            try:
                self._chunk_left = int(size_field, 16)
            except ValueError:
                raise TransportError(f"a bad chunk size: {size_field[:20]!r}") from None
            if not self._chunk_left:
                while conn.read_line():  # trailers, up to the empty line
                    pass
                self._done()
                return b""
        data = conn.read_some(min(amount, self._chunk_left))
        if not data:
            raise TransportError("the connection closed inside a chunk")
        self._chunk_left -= len(data)
        if not self._chunk_left and conn.read_some(2) != b"\r\n":
            raise TransportError("a chunk not followed by CRLF")
        return data

    def _done(self) -> None:
        self.complete = True
        conn, self._conn = self._conn, None
        if conn is not None:
            self._release(conn, self._keep)

    def close(self) -> None:
        """Close the connection unless the body was read to its end (then it went back)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._release(conn, False)


class _Release:
    """Where a connection goes when its response is complete: back to its thread's idle set."""

    def __init__(self, pool: Pool, idle: dict[Origin, Connection]) -> None:
        self._pool, self._idle = pool, idle

    def __call__(self, conn: Connection, keep: bool) -> None:
        if keep and conn.origin not in self._idle:
            conn.reused = True
            self._idle[conn.origin] = conn
        else:
            self._pool.discard(conn)


class Pool:
    """Keep-alive connections, at most one idle per thread and origin; no lock per request."""

    def __init__(self, *, timeout: float, tls: Callable[[], ssl.SSLContext]) -> None:
        self._timeout = timeout
        self._tls = tls  # called once, on the first https connection (it loads the CA store)
        self._context: ssl.SSLContext | None = None
        self._local = threading.local()
        self._live: set[Connection] = set()  # every open connection, for close()
        self._lock = threading.Lock()

    def request(self, method: str, url: str, headers: dict[str, str]) -> Response:
        origin, target = split_url(url)
        idle: dict[Origin, Connection] | None = getattr(self._local, "idle", None)
        if idle is None:
            idle = self._local.idle = {}
        while True:
            conn = idle.pop(origin, None)
            if conn is None:
                conn = self._connect(origin)
            try:
                conn.send(method, target, headers)
                status, response_headers, keep = conn.read_head()
            except (_Stale, ConnectionResetError, BrokenPipeError):
                self.discard(conn)
                if not conn.reused:
                    raise
                continue  # the server closed it while idle: once more on a new connection
            except BaseException:
                self.discard(conn)
                raise
            bodyless = method == "HEAD" or status in (204, 304)
            release = _Release(self, idle)
            try:
                return Response(
                    conn, status, response_headers, keep=keep, bodyless=bodyless, release=release
                )
            except BaseException:
                self.discard(conn)
                raise

    def _connect(self, origin: Origin) -> Connection:
        if origin.scheme == "https" and self._context is None:
            with self._lock:
                if self._context is None:
                    self._context = self._tls()
        conn = Connection(origin, timeout=self._timeout, context=self._context)
        with self._lock:
            self._live.add(conn)
        return conn

    def discard(self, conn: Connection) -> None:
        conn.close()
        with self._lock:
            self._live.discard(conn)

    def release_thread(self) -> None:
        """Close the calling thread's idle connections: it is leaving, and nobody else may
        use them (they would stay open until `close`)."""
        idle: dict[Origin, Connection] | None = getattr(self._local, "idle", None)
        while idle:
            self.discard(idle.popitem()[1])

    def close(self) -> None:
        with self._lock:
            live, self._live = self._live, set()
        for conn in live:
            conn.close()
