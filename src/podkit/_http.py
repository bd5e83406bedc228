"""The only module that imports the HTTP library: client factory and retries.

Retries follow one policy everywhere: 429 (honouring Retry-After), 5xx and transport
failures, with exponential backoff and full jitter. Non-idempotent requests (POST) are
retried only when the server cannot have acted on them: a connection that never opened,
or a 429. Clock, sleep, randomness and transport are constructor seams for tests.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from podkit.errors import ServerError, TransportError
from podkit.proxy_env import proxy_problem
from podkit.redact import public_url, scrub

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# No RunPod answer comes near this (job payloads are capped at 20 MB); past it, or past
# this many read timeouts for one body, the server is not answering like the API.
MAX_BODY_BYTES = 64 * 2**20
BODY_DEADLINE_FACTOR = 4
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})

Response = httpx.Response
MockTransport = httpx.MockTransport
BaseTransport = httpx.BaseTransport


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    statuses: frozenset[int] = RETRY_STATUSES

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff for the given 1-based attempt."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return rng.uniform(0, ceiling)


NO_RETRY = RetryPolicy(attempts=1)


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Parse a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²", which isdigit() also takes
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, OverflowError):  # not a date, or one past any clock
        return None


@dataclass
class RequestStats:
    """Counts what a client sent, for benchmarks and `--json` reports."""

    requests: int = 0
    writes: int = 0
    retries: int = 0
    by_route: dict[str, int] = field(default_factory=dict)

    def record(self, method: str, path: str) -> None:
        self.requests += 1
        if method not in {"GET", "HEAD", "OPTIONS"}:
            self.writes += 1
        key = f"{method} {path}"
        self.by_route[key] = self.by_route.get(key, 0) + 1


class HttpClient:
    """A small synchronous HTTP client with podkit's retry policy."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        try:
            self._client = httpx.Client(
                base_url=base_url,
                headers=dict(headers or {}),
                timeout=timeout,
                transport=transport,
                follow_redirects=False,
            )
        except (ImportError, ValueError, httpx.InvalidURL) as exc:  # from a proxy variable
            problem = proxy_problem()
            if problem is None:
                raise
            raise problem from exc
        self.base_url = base_url
        self.retry = retry
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self.max_body = max_body
        self.stats = RequestStats()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> httpx.Response:
        """Send a request, retrying per policy; return the final response (any status)."""
        policy = retry or self.retry
        method = method.upper()
        idempotent = method in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            attempt += 1
            self.stats.record(method, path)
            try:
                response = self._send(
                    self._client.build_request(
                        method,
                        path,
                        json=json,
                        params=params,
                        headers=headers,
                        timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                    ),
                    timeout,
                )
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if isinstance(exc, httpx.ConnectError) and _is_loopback(self.base_url):
                    url = f"{public_url(self.base_url)}{path}"
                    raise _nothing_listens(method, url, exc) from exc
                if attempt >= policy.attempts or not (idempotent or never_sent):
                    where = f"{public_url(self.base_url)}{path}"
                    raise TransportError(
                        f"{method} {where} failed: {type(exc).__name__}: {scrub(str(exc))}",
                        method=method,
                        url=where,
                        hint=_transport_hint(idempotent or never_sent, attempt),
                    ) from exc
                self._wait(policy, attempt, None)
                continue
            if (
                response.status_code in policy.statuses
                and attempt < policy.attempts
                and (idempotent or response.status_code == 429)
            ):
                self._wait(policy, attempt, response.headers.get("Retry-After"))
                continue
            return response

    def _send(self, request: httpx.Request, timeout: float | None) -> httpx.Response:
        """Send and read the whole answer, bounded in size and in time: a server that
        trickles its body a byte at a time, or sends one without end, is cut off."""
        read = timeout if timeout is not None else self._client.timeout.read
        limit = BODY_DEADLINE_FACTOR * (read if read is not None else 30.0)
        deadline = self._clock() + limit
        response = self._client.send(request, stream=True)
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isascii() and declared.isdigit() and int(declared) > self.max_body:
                raise _cut_off(request, self.max_body, limit)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_body or self._clock() > deadline:
                    raise _cut_off(request, self.max_body if size > self.max_body else 0, limit)
                chunks.append(chunk)
            return _whole(response, request, b"".join(chunks))
        finally:
            response.close()

    @contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idle_timeout: float | None = 60.0,
    ) -> Iterator[LineStream]:
        """Open a streamed response (server-sent events) without retries; callers reconnect.

        Reading stops quietly once the server sends nothing for `idle_timeout` seconds.
        """
        method = method.upper()
        self.stats.record(method, path)
        timeout = httpx.Timeout(10.0, read=idle_timeout)
        url = f"{public_url(self.base_url)}{path}"
        try:
            with self._client.stream(
                method, path, params=params, headers=headers, timeout=timeout
            ) as response:
                yield LineStream(response)
        except httpx.TransportError as exc:
            raise _stream_failed(method, url, exc) from exc

    @contextmanager
    def send_streamed(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Iterator[httpx.Response]:
        """One request, no retries, its answer open for reading as it arrives (any status)."""
        method = method.upper()
        self.stats.record(method, path)
        url = f"{public_url(self.base_url)}{path}"
        limits = httpx.Timeout(10.0, read=timeout) if timeout is not None else None
        try:
            with self._client.stream(
                method, path, content=content, headers=headers,
                timeout=limits if limits is not None else httpx.USE_CLIENT_DEFAULT,
            ) as response:  # fmt: skip
                yield response
        except httpx.TransportError as exc:
            raise _stream_failed(method, url, exc) from exc

    def _wait(self, policy: RetryPolicy, attempt: int, retry_after: str | None) -> None:
        self.stats.retries += 1
        delay = retry_after_seconds(retry_after, self._clock())
        if delay is None:
            delay = policy.backoff(attempt, self._rng)
        self._sleep(min(delay, policy.max_delay))


def _whole(answer: httpx.Response, request: httpx.Request, body: bytes) -> httpx.Response:
    """The answer with its body read (and decoded: the encoding headers go)."""
    dropped = {"content-encoding", "content-length", "transfer-encoding"}
    headers = [(k, v) for k, v in answer.headers.multi_items() if k.lower() not in dropped]
    reason = answer.extensions.get("reason_phrase")
    extensions = {"reason_phrase": reason} if isinstance(reason, bytes) else {}
    return httpx.Response(
        answer.status_code, headers=headers, content=body, request=request, extensions=extensions
    )


def _cut_off(request: httpx.Request, over: int, limit: float) -> ServerError:
    """An answer podkit stopped reading (`over` bytes, else late); the server may have
    acted on the request."""
    url = public_url(str(request.url))
    why = (
        f"its answer is larger than {over / 2**20:g} MiB"
        if over
        else f"its answer was still arriving after {limit:g} s"
    )
    return ServerError(
        f"{request.method} {url}: {why}; podkit stopped reading it",
        method=request.method,
        url=url,
        hint="the target may not be a RunPod API, or a proxy between is failing; check "
        "--target and your network, then run the command again",
    )


def _is_loopback(base_url: str) -> bool:
    host = httpx.URL(base_url).host
    return host in {"localhost", "::1"} or host.startswith("127.")


def _nothing_listens(method: str, url: str, exc: httpx.TransportError) -> TransportError:
    """A refused connection on loopback is no network blip: nothing runs there (yet)."""
    origin = str(httpx.URL(url).copy_with(path="/", query=None)).rstrip("/")
    return TransportError(
        f"{method} {url} failed: nothing listens on {origin} ({type(exc).__name__})",
        method=method,
        url=url,
        hint=f"start the local RunPod: podkit emulator start --port {httpx.URL(url).port}, "
        "or point --target / PODKIT_LOCAL_URL at where it runs",
    )


def _transport_hint(retryable: bool, attempts: int) -> str:
    if not retryable:
        return (
            "the connection broke after the request was sent, so it was not retried: the "
            "server may have acted on it; check the target and your network, then run again"
        )
    tried = f" ({attempts} attempts)" if attempts > 1 else ""
    return f"check the target URL and your network{tried}, then run the command again"


class LineStream:
    """A streamed response read line by line; a read that goes idle ends the lines."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status_code = response.status_code
        self.headers = response.headers

    def read(self) -> httpx.Response:
        """Read the whole (error) body, for non-2xx answers."""
        self.response.read()
        return self.response

    def lines(self) -> Iterator[str]:
        """The body's lines as they arrive, until the end or an idle read."""
        try:
            yield from self.response.iter_lines()
        except httpx.ReadTimeout:
            return


def _stream_failed(method: str, url: str, exc: httpx.TransportError) -> TransportError:
    """A streamed request (never retried) that broke: the URL without credentials."""
    return TransportError(
        f"{method} {url} failed: {type(exc).__name__}: {scrub(str(exc))}",
        method=method,
        url=url,
        hint="check the target URL and your network, then run the command again",
    )
