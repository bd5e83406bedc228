"""The transfer engine's HTTP layer: requests, redirects, and the map from failures to
`RetryableFetchError` (worth another try) or `FetchError` (not).

The wire is libcurl (`_curl`): proxies, TLS with the CA store `trust` finds, HTTP/2 and
happy eyeballs are libcurl's; redirects, retries and what may follow a redirect are the
engine's. The retry policy (backoff with jitter, Retry-After) is the shared
`podkit._http.RetryPolicy`, applied by the engine per chunk. Request headers may carry
credentials: they are never put into an error message, and they are not sent on to another
origin when a request is redirected. Metadata documents (listings) are asked for in any
content encoding and decoded; data requests ask for none unless the source says otherwise
(a GCS object stored gzip-encoded is fetched as stored, so its checksums hold).
"""

from __future__ import annotations

import functools
import json
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar, cast
from urllib.parse import urljoin, urlsplit

from podkit._http import RetryPolicy, retry_after_seconds
from podkit.worker.transfer import _curl, _response
from podkit.worker.transfer.proxies import proxies_from
from podkit.worker.transfer.trust import CaBundle, CaBundleError, find_ca_bundle

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
# A listing page or a revision record (decoded): real ones are a few MiB at most.
MAX_DOCUMENT = 256 * 1024 * 1024
NOT_THE_STORE = (
    "check that the request reaches the store itself (HF_ENDPOINT, STORAGE_EMULATOR_HOST, "
    "AWS_ENDPOINT_URL_S3 where set), not a proxy's or a login page"
)
# One read, one wake-up of the reading thread: 256 KiB is a progress (and deadline) check
# every 6 ms on a 40 MiB/s stream; 64 KiB to 1 MiB measured the same on S2 (within noise).
READ_BLOCK = 256 * 1024
USER_AGENT = "podkit-sync"
# Never sent on to another origin: a redirect to a CDN gets a signed URL, not our token.
_ORIGIN_BOUND = frozenset({"authorization", "cookie", "proxy-authorization"})
_PROXY_HINT = (
    "check the proxy that https_proxy / HTTPS_PROXY (http_proxy for http://, or ALL_PROXY) "
    "names, or list the host in NO_PROXY to go direct"
)
_UNREACHED_HINT = (
    "check that the host answers from here (its name and port, the network, a firewall); "
    "behind a proxy, name it in HTTPS_PROXY"
)
# A remembered redirect target answering these is asked no more (an expired signature).
_REFUSED = frozenset({400, 401, 403, 404, 410})


class FetchError(Exception):
    """A request failed in a way another try will not fix (404, 403, a bad answer).

    `hint` is set when the failure itself says what to do (an untrusted certificate); the
    sources fall back to their own hint otherwise."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.hint = hint


class RetryableFetchError(FetchError):
    """A reset, a stall, a short body, 429 or 5xx: worth another try after a backoff."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, status=status, hint=hint)
        self.retry_after = retry_after


class Response:
    """A streaming response; `read()` returns b'' at the end of the body."""

    def __init__(self, wire: _response.Response, url: str) -> None:
        self.status = wire.status
        self.http_version = wire.http_version
        self.headers: Mapping[str, str] = wire.headers  # names in lower case
        self.url = url
        self._wire = wire

    def read(self, amount: int = READ_BLOCK) -> bytes:
        blocks = self.read_blocks(amount)
        return blocks[0] if len(blocks) == 1 else b"".join(blocks)

    def read_blocks(self, amount: int = READ_BLOCK) -> list[bytes]:
        """Up to `amount` bytes as the blocks they arrived in; [] at the end of the body."""
        try:
            return self._wire.read_blocks(amount)
        except OSError as exc:
            raise RetryableFetchError(f"reading {self.url} failed: {_describe(exc)}") from exc

    def drain(
        self, sink: Callable[[list[bytes]], bool], idle: Callable[[], None] | None = None
    ) -> None:
        """Hand the body to `sink` until it returns True or the body ends, calling `idle` now
        and then (see `_response.Response.drain`); what the sink raises comes through as it is."""
        try:
            self._wire.drain(sink, idle)
        except _response.TransportError as exc:
            raise RetryableFetchError(f"reading {self.url} failed: {_describe(exc)}") from exc

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def close(self) -> None:
        """A body read to its end gave its connection back already; anything else is closed."""
        self._wire.close()


class Pending:
    """A GET in flight among others the calling thread drives (`Fetcher.step`), its body
    held in memory: for small files, many at once in one loop."""

    def __init__(
        self, wire: _response.Response, url: str, headers: dict[str, str], hops: int, at_most: int
    ) -> None:
        self._wire = wire
        wire.tag = self
        self.at_most = at_most
        self.url = _safe(url)
        self.target = url  # the URL asked for, for the next hop of a redirect
        self.headers = headers
        self.hops = hops

    @property
    def complete(self) -> bool:
        """True once the body is all in, or the transfer failed."""
        return self._wire.complete

    @property
    def progress(self) -> int:
        """Grows while anything arrives (for a stall clock)."""
        return self._wire.progress

    @property
    def redirect_url(self) -> str:
        """Where a complete 3xx points ("" otherwise)."""
        return self._wire.redirect_url

    @property
    def status(self) -> int:
        """The HTTP status once complete (redirects are not followed: a 3xx is the answer)."""
        return self._wire.status

    def body(self) -> bytes:
        """The body of a complete transfer; RetryableFetchError if the transport failed."""
        try:
            return self._wire.body()
        except OSError as exc:
            raise RetryableFetchError(f"reading {self.url} failed: {_describe(exc)}") from exc

    def close(self) -> None:
        """Stop the transfer if it is still running; idempotent."""
        self._wire.close()


def _ca_bundle(environ: Mapping[str, str]) -> CaBundle:
    try:
        return find_ca_bundle(environ)
    except CaBundleError as exc:
        raise FetchError(str(exc), hint=exc.hint) from None


class Fetcher:
    """A connection pool sized to the engine's global connection budget."""

    def __init__(
        self,
        connections: int,
        *,
        stall_timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        time_left: Callable[[], float] | None = None,
    ) -> None:
        """`environ` (the process environment by default) names the proxies and CA bundle;
        `clock` times the stall timeout; `time_left` (seconds until the sync's deadline) keeps
        a metadata request from waiting for a retry past it."""
        env = dict(os.environ if environ is None else environ)
        self._pool = _curl.Pool(
            timeout=stall_timeout,
            trust=functools.partial(_ca_bundle, env),
            proxies=proxies_from(env),
            clock=clock,
        )
        self.data_requests = 0
        self.meta_requests = 0
        self._moved: dict[str, tuple[str, bool]] = {}  # URL -> (where it redirected, left origin)
        self._retry = retry
        self._sleep = sleep
        self._time_left = time_left
        self._rng = random.Random()

    def close(self) -> None:
        self._pool.close()

    def release_thread(self) -> None:
        """Close the connections the calling thread keeps alive (a pool thread that leaves)."""
        self._pool.release_thread()

    @contextmanager
    def open(
        self, url: str, headers: Mapping[str, str], *, data: bool = True, method: str = "GET"
    ) -> Iterator[Response]:
        """Send a request and yield the streaming response; raises on transport failure."""
        if data:
            self.data_requests += 1
        else:
            self.meta_requests += 1
        sent = {"User-Agent": USER_AGENT, **headers}
        if data and method == "GET" and "Range" in sent:
            response = self._get_range(url, sent)
        else:
            decode = not data and method == "GET" and "Range" not in sent
            response = self._follow(method, url, sent, decode=decode)[0]
        try:
            yield response
        finally:
            response.close()

    def start(self, url: str, headers: Mapping[str, str], *, at_most: int) -> Pending:
        """Send a data GET without waiting for it; `step` moves it on with the calling
        thread's other transfers. Redirects are not followed: the caller sees the 3xx. A body
        longer than `at_most` bytes fails the transfer (it is held in memory)."""
        self.data_requests += 1
        sent = {"User-Agent": USER_AGENT, **headers}
        wire = self._pool.begin("GET", url, sent, whole=at_most)
        return Pending(wire, url, sent, 0, at_most)

    def follow(self, pending: Pending) -> Pending | None:
        """The GET a complete redirect asks for next (credentials dropped off the origin, as
        `open` does); None when it is no redirect, or one `open` would refuse."""
        target = pending.redirect_url
        if pending.status not in REDIRECT_STATUSES or not target:
            return None
        if pending.hops >= MAX_REDIRECTS or _origin(target) is None:
            return None
        headers = pending.headers
        if _origin(target) != _origin(pending.target):
            headers = _bound(headers)
        wire = self._pool.begin("GET", target, headers, whole=pending.at_most)
        return Pending(wire, target, headers, pending.hops + 1, pending.at_most)

    def step(self) -> list[Pending]:
        """Move the calling thread's transfers on, waiting at most a poll's length for data;
        the ones that completed (the body all in, or the transfer failed)."""
        return [cast(Pending, wire.tag) for wire in self._pool.step()]

    def _get_range(self, url: str, headers: dict[str, str]) -> Response:
        """A byte range of a file whose earlier range was redirected (a Hugging Face download
        sent on to a signed CDN URL) goes straight to where it went: one round trip per range
        instead of two. If that place refuses now (the signature expired), ask the URL again."""
        known = self._moved.get(url)
        if known is not None:
            target, left_origin = known
            sent = _bound(headers) if left_origin else headers
            response = self._follow("GET", target, sent, driven=True)[0]
            if response.status not in _REFUSED:
                return response
            response.close()
            self._moved.pop(url, None)
        response, final, left_origin = self._follow("GET", url, headers, driven=True)
        if final != url and response.status == 206:
            self._moved[url] = (final, left_origin)
        return response

    def _follow(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        *,
        decode: bool = False,
        driven: bool = False,
    ) -> tuple[Response, str, bool]:
        """The response at the end of the redirects, its URL, and whether it left the origin
        (the credentials were dropped on the way). `driven`: a byte-range stream, moved on
        by the loop thread (its body is taken by `Response.drain`)."""
        left_origin = False
        for _ in range(MAX_REDIRECTS + 1):
            try:
                wire = self._pool.request(
                    method, url, headers, decode=decode, http2="Range" not in headers,
                    driven=driven,
                )  # fmt: skip
            except _response.UntrustedCertificate as exc:
                what, hint = exc.in_words()
                raise FetchError(f"{_safe(url)}: {what} ({exc})", hint=hint) from exc
            except _response.ProxyUnusable as exc:
                raise FetchError(
                    f"{_safe(url)}: the proxy cannot be used ({exc})", hint=_PROXY_HINT
                ) from exc
            except _response.ProxyRefused as exc:
                raise FetchError(
                    f"{_safe(url)}: the proxy refused the tunnel ({exc})",
                    hint="check the user and password in HTTPS_PROXY (or ALL_PROXY), or list "
                    "the host in NO_PROXY",
                ) from exc
            except OSError as exc:
                raise RetryableFetchError(
                    f"{method} {_safe(url)} failed: {_describe(exc)}",
                    hint=_PROXY_HINT if isinstance(exc, _response.ProxyFailed) else _UNREACHED_HINT,
                ) from exc
            location = wire.headers.get("location")
            if wire.status not in REDIRECT_STATUSES or not location:
                return Response(wire, _safe(url)), url, left_origin
            wire.close()
            try:
                target = urljoin(url, _location(location))
            except ValueError:
                raise FetchError(f"{_safe(url)} redirected to a URL that is not valid") from None
            if _origin(target) is None:
                raise FetchError(f"{_safe(url)} redirected to a URL that is not http(s)")
            if _origin(target) != _origin(url):
                headers, left_origin = _bound(headers), True
            if wire.status == 303 and method != "HEAD":
                method = "GET"
            url = target
        raise FetchError(f"{_safe(url)}: more than {MAX_REDIRECTS} redirects")

    def json(self, url: str, headers: Mapping[str, str], method: str = "GET") -> Any:
        """GET (or another method) a JSON document; raises FetchError with the status, or
        for an answer that is not JSON."""
        text = self.text(url, headers, method=method)
        try:
            return json.loads(text)
        except ValueError:
            raise FetchError(
                f"{_safe(url)} answered {len(text)} characters that are not JSON",
                hint=NOT_THE_STORE,
            ) from None

    def text(self, url: str, headers: Mapping[str, str], method: str = "GET") -> str:
        """A metadata document (listing, revision), retried on 429/5xx/resets."""

        def once() -> str:
            with self.open(url, headers, data=False, method=method) as response:
                raise_for_status(response)
                return read_document(response)

        return self.retrying(once)

    def head(self, url: str, headers: Mapping[str, str]) -> Response:
        """A HEAD request (retried on 429/5xx/resets); the response has no body."""

        def once() -> Response:
            with self.open(url, headers, data=False, method="HEAD") as response:
                if response.status in RETRYABLE_STATUSES:
                    raise_for_status(response)
                return response

        return self.retrying(once)

    def past_deadline(self) -> bool:
        return self._time_left is not None and self._time_left() <= 0

    def retrying(self, call: Callable[[], T]) -> T:
        """Run a metadata request under the retry policy (backoff with jitter, Retry-After)."""
        for attempt in range(1, self._retry.attempts + 1):
            try:
                return call()
            except RetryableFetchError as exc:
                delay = retry_after_seconds(exc.retry_after, time.time())
                if delay is None:
                    delay = self._retry.backoff(attempt, self._rng)
                wait = min(delay, self._retry.max_delay)
                if attempt == self._retry.attempts or (
                    self._time_left is not None and wait >= self._time_left()
                ):
                    raise
                self._sleep(wait)
        raise AssertionError("unreachable")


class Pages:
    """The pages of one listing: each page's token (or next URL) is new, and no page is asked
    for once the sync's deadline has passed; a store that hands the same token back again
    would otherwise be listed for ever."""

    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher
        self._seen: set[str] = set()

    def next(self, token: str) -> None:
        """Before asking for the page after `token`; FetchError if it was asked for already
        or the deadline passed."""
        if token in self._seen:
            raise FetchError(
                "the listing handed back a page it had already given",
                hint=NOT_THE_STORE,
            )
        self._seen.add(token)
        if self._fetcher.past_deadline():
            raise FetchError(
                "the sync's deadline passed while listing",
                hint="give the sync more time (raise the endpoint's execution timeout, or "
                "--timeout), or list a narrower prefix",
            )


def read_document(response: Response) -> str:
    """The body of a metadata answer as text: FetchError beyond `MAX_DOCUMENT` bytes or for
    bytes that are not UTF-8 (a page from something other than the store, most likely)."""
    body: list[bytes] = []
    size = 0
    for block in iter(response.read, b""):
        size += len(block)
        if size > MAX_DOCUMENT:
            raise FetchError(
                f"{response.url} answered a listing page or record of more than "
                f"{MAX_DOCUMENT:,} bytes",
                hint=NOT_THE_STORE,
            )
        body.append(block)
    try:
        return b"".join(body).decode("utf-8")
    except UnicodeDecodeError:
        raise FetchError(
            f"{response.url} answered {size} bytes that are not UTF-8 text", hint=NOT_THE_STORE
        ) from None


def raise_for_status(response: Response, *, expected: tuple[int, ...] = (200,)) -> None:
    """Raise RetryableFetchError for 429/5xx, FetchError for other unexpected statuses."""
    if response.status in expected:
        return
    message = f"{response.url} answered HTTP {response.status}"
    if response.status in RETRYABLE_STATUSES:
        raise RetryableFetchError(
            message, status=response.status, retry_after=response.header("Retry-After")
        )
    raise FetchError(message, status=response.status)


def _bound(headers: dict[str, str]) -> dict[str, str]:
    """The headers that may follow a request to another origin: no credentials, and none of
    a signed S3 request's (its session token among them)."""
    return {
        k: v
        for k, v in headers.items()
        if k.lower() not in _ORIGIN_BOUND and not k.lower().startswith("x-amz-")
    }


def _location(value: str) -> str:
    """A Location header as the server sent it: its bytes beyond ASCII (headers are read as
    latin-1, a byte a character) percent-encoded as they came, so a UTF-8 name stays one."""
    if value.isascii():
        return value
    return "".join(c if ord(c) < 128 else f"%{ord(c):02X}" for c in value)


def same_origin(url: str, other: str) -> bool:
    """True when both are http(s) URLs of one scheme, host and port."""
    origin = _origin(url)
    return origin is not None and origin == _origin(other)


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL; None for anything else."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            return None
        return scheme, parts.hostname, parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        return None


def _safe(url: str) -> str:
    """A URL for messages: the query is dropped (it may carry a signature or token), and so
    is a `user:password@` (a redirect may point at one)."""
    return _response.without_userinfo(url.split("?", 1)[0])


def _describe(exc: OSError) -> str:
    """A transport failure in words, without the request (its headers may hold secrets)."""
    if isinstance(exc, _response.TransportError):
        return str(exc)
    return type(exc).__name__
