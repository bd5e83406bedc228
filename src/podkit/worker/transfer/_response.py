"""A response on the engine's libcurl wire (`_curl.py`): the head as libcurl hands it over,
the body pulled by `read_blocks()`, handed to a sink by `drain()` or taken whole by `body()`,
and the transfer's failure in words.

Every transport failure is an OSError (`TransportError`; `UntrustedCertificate` and
`ProxyRefused` are the ones another try cannot fix; `ProxyFailed`, one at the proxy).
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import pycurl

if TYPE_CHECKING:
    from podkit.worker.transfer._curl import _Lane

# One write callback per this many bytes at most: fewer trips into Python per MiB.
BUFFER = 512 * 1024
IDLE_EVERY = 0.05  # seconds between two calls of a drain's `idle`
_USERINFO = re.compile(r"//[^/@\s]*@")
_QUOTED_WITH_AT = re.compile(r"'[^']*@[^']*'|\"[^\"]*@[^\"]*\"")
# libcurl names that pycurl 7.49 does not export (values from curl/curl.h).
_E_WEIRD_SERVER_REPLY = 8
_E_TOO_LARGE = 100

_IN_WORDS = {
    pycurl.E_COULDNT_RESOLVE_HOST: "the host name does not resolve",
    pycurl.E_COULDNT_RESOLVE_PROXY: "the proxy's host name does not resolve",
    pycurl.E_COULDNT_CONNECT: "connection refused",
    pycurl.E_OPERATION_TIMEDOUT: "no connection within the connect timeout",
    pycurl.E_GOT_NOTHING: "the connection closed before the response headers",
    pycurl.E_SEND_ERROR: "connection closed by the server",
    pycurl.E_RECV_ERROR: "connection reset by the server",
    pycurl.E_SSL_CONNECT_ERROR: "the TLS handshake failed",
    _E_WEIRD_SERVER_REPLY: "an answer that is not HTTP",
    _E_TOO_LARGE: "an answer whose headers are larger than any store sends",
    pycurl.E_BAD_CONTENT_ENCODING: "a body that does not decode as its Content-Encoding says",
}
_UNTRUSTED = frozenset({pycurl.E_PEER_FAILED_VERIFICATION, pycurl.E_SSL_CACERT_BADFILE})


class TransportError(OSError):
    """The connection failed, or the peer closed early or answered something that is not HTTP."""


class UntrustedCertificate(TransportError):
    """The server's TLS certificate does not chain to a trusted CA (or does not name the host)."""

    def in_words(self) -> tuple[str, str]:
        """What is wrong with the certificate, and the next step."""
        if "subject name" in str(self):  # libcurl: "... subject name ... target host name ..."
            return (
                "the server's TLS certificate is for another host name",
                "write the host name the certificate was issued for in the URL, or give the "
                "server a certificate for this name",
            )
        return (
            "the server's TLS certificate is not trusted",
            "for a private CA, set PODKIT_CA_BUNDLE (or SSL_CERT_FILE) to its certificate "
            "(PEM file)",
        )


class ProxyFailed(TransportError):
    """The failure was at the proxy (its name does not resolve, it refuses the connection, or
    its tunnel broke): the proxy variables are what to check."""


class ProxyRefused(ProxyFailed):
    """The proxy answered the CONNECT with 407 (or 403): its credentials, or its rules."""


class ProxyUnusable(ProxyFailed):
    """The proxy URL cannot be used as written (its syntax, its scheme)."""


def _proxy_failure(code: int, message: str) -> ProxyFailed | None:
    """A failure at the proxy, in libcurl's words, less any proxy URL they quote (it may
    carry a user and password that no pattern can cut out reliably: a password may hold a
    space, a slash or an @) and any `user:password@` left."""
    lowered = message.lower()
    if "proxy" not in lowered and "CONNECT" not in message:
        return None
    words = without_userinfo(_QUOTED_WITH_AT.sub("(the proxy URL)", message))
    if "CONNECT tunnel failed, response 407" in message or "response 403" in message:
        return ProxyRefused(words)
    if "proxy syntax" in lowered or "proxy scheme" in lowered:
        return ProxyUnusable(words)
    return ProxyFailed(words if code else "the proxy failed")


def without_userinfo(text: str) -> str:
    """`text` with every `user:password@` of a URL in it cut out."""
    return _USERINFO.sub("//", text) if "@" in text else text


class Response:
    """A response whose body is read with `read_blocks()`; [] once the body is complete."""

    def __init__(
        self,
        lane: _Lane,
        easy: pycurl.Curl,
        stall: float,
        clock: Callable[[], float],
        *,
        whole: bool = False,
    ) -> None:
        self.status = 0
        self.http_version = ""  # "1.1", "2"
        self.headers: dict[str, str] = {}  # names in lower case
        self._lane: _Lane | None = lane
        self._easy = easy
        self._stall, self._clock = stall, clock
        self._chunks: deque[bytes] = deque()
        self._arrived: list[bytes] = []  # libcurl appends here (a C call, no Python frame)
        self._buffered = 0
        self._received = 0
        self._head_done = False
        self._whole = whole  # headers not parsed; `status` is set once it is complete
        self.redirect_url = ""  # of a complete `whole` 3xx
        self.complete = False
        self._error: TransportError | None = None
        self.tag: object = None  # the caller's, for a `whole` one `step` reports complete

    def _on_header(self, line: bytes) -> None:
        if line.startswith(b"HTTP/"):
            parts = line.split(None, 2)
            self.http_version = parts[0][5:].decode("latin-1")
            self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            self.headers = {}  # a 1xx answer's headers are not the final ones
            return
        if line in (b"\r\n", b"\n"):
            self._head_done = self.status >= 200
            return
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            key, value = name.strip().lower(), value.strip()
            self.headers[key] = f"{self.headers[key]}, {value}" if key in self.headers else value

    def _absorb(self) -> None:
        """Count what libcurl appended since the last look and queue it for `read`."""
        arrived = self._arrived
        if arrived:
            size = sum(map(len, arrived))
            self._chunks.extend(arrived)
            arrived.clear()
            self._buffered += size
            self._received += size

    def _finish(self, code: int, message: str) -> None:
        self._absorb()
        self.complete = True
        if self._whole:
            self.status = self._easy.getinfo(pycurl.RESPONSE_CODE)
            if 300 <= self.status < 400:  # where it points, resolved against the request
                self.redirect_url = self._easy.getinfo(pycurl.REDIRECT_URL) or ""
        if code:
            self._error = self._failure(code, message)

    def _failure(self, code: int, message: str) -> TransportError:
        if code in _UNTRUSTED:
            return UntrustedCertificate(message)
        at_proxy = _proxy_failure(code, message)
        if at_proxy is not None:
            return at_proxy
        if code == pycurl.E_PARTIAL_FILE:
            length = self.headers.get("content-length", "")
            if length.isdigit() and "content-encoding" not in self.headers:
                return TransportError(f"the body ended {int(length) - self._received} bytes short")
            return TransportError("the body ended short")
        return TransportError(_IN_WORDS.get(code) or message or f"libcurl error {code}")

    @property
    def progress(self) -> int:
        """Grows while anything arrives (a stall clock's reading)."""
        self._absorb()
        whole = len(self._chunks) if self._whole else 0
        return self._received + len(self.headers) + self.status + whole

    def body(self) -> bytes:
        """The whole body of a complete transfer (which gives its connection back)."""
        self._absorb()
        data = b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        self._release()  # a failed transfer's handle is not kept
        error, self._error = self._error, None
        if error is not None:
            raise error
        return data

    def wait_for_head(self) -> None:
        self._drive(lambda: self._head_done)
        if not self._head_done:
            self._release()
            raise self._error or TransportError("the connection closed before the response")

    def drain(
        self, sink: Callable[[list[bytes]], bool], idle: Callable[[], None] | None = None
    ) -> None:
        """Hand the body to `sink` until it returns True (it wants no more) or the body ends
        (then it is called with [] once); the transport's failure is raised. `idle` is called
        now and then meanwhile (every `IDLE_EVERY` seconds at most)."""
        idled_at = time.monotonic()
        while True:
            blocks = self.read_blocks(BUFFER)
            if sink(blocks) or not blocks:
                return
            if idle is not None and time.monotonic() - idled_at >= IDLE_EVERY:
                idle()
                idled_at = time.monotonic()

    def read_blocks(self, amount: int) -> list[bytes]:
        """Up to `amount` bytes of the body as libcurl handed them over (no copy to join
        them; `os.pwritev` writes them in one call); [] once the body is complete."""
        self._absorb()
        if self._buffered < amount and not self.complete:
            self._drive(lambda: self._buffered >= amount)
        if not self._buffered:
            error, self._error = self._error, None
            self._release()
            if error is not None:
                raise error
            return []
        chunks, blocks, size = self._chunks, [], 0
        while chunks and size < amount:
            block = chunks.popleft()
            if size + len(block) > amount:
                chunks.appendleft(block[amount - size :])
                block = block[: amount - size]
            blocks.append(block)
            size += len(block)
        self._buffered -= size
        return blocks

    def _drive(self, enough: Callable[[], bool]) -> None:
        lane = self._lane
        if lane is None:
            return
        last_seen, last_at = -1, self._clock()
        while not enough() and not self.complete:
            lane.step()
            seen = self.progress  # counts what arrived
            now = self._clock()
            if seen != last_seen:
                last_seen, last_at = seen, now
            elif now - last_at > self._stall:
                self._release()
                raise TransportError("no data within the stall timeout")

    def _release(self) -> None:
        self.tag = None  # no cycle with the caller's object once it is done
        lane, self._lane = self._lane, None
        if lane is not None:
            lane.give_back(self._easy, kept=self.complete and self._error is None)

    def close(self) -> None:
        """Stop the transfer unless its body was read to its end; idempotent."""
        self._arrived.clear()
        self._chunks.clear()
        self._buffered = 0
        self._release()
