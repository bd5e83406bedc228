"""The transfer engine's HTTP layer: the only module in transfer/ that imports urllib3.

Why not `podkit._http` (httpx): measured on loopback nginx, 256 MiB in 16 MiB ranges with
8 threads, httpx streamed 354-379 MB/s using 0.85-0.92 s of CPU while urllib3 streamed
1,258-1,433 MB/s with 0.29-0.33 s; with a 40 MiB/s cap per connection and 16 threads httpx
stalled at 362 MB/s (CPU-bound) and urllib3 reached 620 MB/s (bench/RESULTS.md, "Model sync").
Bulk data therefore goes through urllib3; the retry policy (backoff with jitter, Retry-After)
is the shared one from `podkit._http.RetryPolicy`, applied by the engine per chunk.

Every failure maps to `RetryableFetchError` (worth another try) or `FetchError` (not).
Request headers may carry credentials: they are never put into an error message.
"""

from __future__ import annotations

import json
import os
import random
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util import Retry, Timeout

from podkit._http import RetryPolicy, retry_after_seconds

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
READ_BLOCK = 1024 * 1024


class FetchError(Exception):
    """A request failed in a way another try will not fix (404, 403, a bad answer)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RetryableFetchError(FetchError):
    """A reset, a stall, a short body, 429 or 5xx: worth another try after a backoff."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: str | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


@dataclass
class Response:
    """A streaming response; `read()` returns b'' at the end of the body."""

    status: int
    headers: Mapping[str, str]
    _raw: urllib3.BaseHTTPResponse
    url: str

    def read(self, amount: int = READ_BLOCK) -> bytes:
        # http.client zero-fills a buffer of `amount` bytes per read: never ask for more than
        # the body still holds (a 1 MiB buffer per 16 KiB file halves small-file throughput).
        remaining = getattr(self._raw, "length_remaining", None)
        if remaining is not None:
            amount = min(amount, remaining)
            if amount <= 0:
                return b""
        try:
            return bytes(self._raw.read(amount))
        except (Urllib3Error, OSError) as exc:
            raise RetryableFetchError(f"reading {self.url} failed: {type(exc).__name__}") from exc

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else str(value)


def _ssl_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    bundle = os.environ.get("PODKIT_CA_BUNDLE")
    if bundle:
        context.load_verify_locations(cafile=bundle)
    return context


class Fetcher:
    """A connection pool sized to the engine's global connection budget."""

    def __init__(
        self,
        connections: int,
        *,
        stall_timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._pool = urllib3.PoolManager(
            num_pools=16,
            maxsize=max(1, connections) + 2,  # + the planner and refreshes
            block=False,
            retries=Retry(total=0, redirect=5, raise_on_redirect=True, raise_on_status=False),
            timeout=Timeout(connect=min(10.0, stall_timeout), read=stall_timeout),
            ssl_context=_ssl_context(),
        )
        self.data_requests = 0
        self.meta_requests = 0
        self._retry = retry
        self._sleep = sleep
        self._rng = random.Random()

    def close(self) -> None:
        self._pool.clear()

    @contextmanager
    def open(
        self, url: str, headers: Mapping[str, str], *, data: bool = True, method: str = "GET"
    ) -> Iterator[Response]:
        """Send a request and yield the streaming response; raises on transport failure."""
        if data:
            self.data_requests += 1
        else:
            self.meta_requests += 1
        try:
            raw = self._pool.request(
                method, url, headers=dict(headers), preload_content=False, decode_content=False
            )
        except (Urllib3Error, OSError) as exc:
            raise RetryableFetchError(
                f"{method} {_safe(url)} failed: {type(exc).__name__}"
            ) from exc
        response = Response(raw.status, raw.headers, raw, _safe(url))
        try:
            yield response
        finally:
            # A body read to the end returns its connection to the pool; anything else is dropped.
            if _drained(raw):
                # Closing the finished http.client response (a HEAD is never read) lets the
                # connection carry the next request.
                raw.drain_conn()
                raw.release_conn()
            else:
                raw.close()

    def json(self, url: str, headers: Mapping[str, str], method: str = "GET") -> Any:
        """GET (or another method) a JSON document; raises FetchError with the status."""
        return json.loads(self.text(url, headers, method=method))

    def text(self, url: str, headers: Mapping[str, str], method: str = "GET") -> str:
        """A metadata document (listing, revision), retried on 429/5xx/resets."""

        def once() -> str:
            with self.open(url, headers, data=False, method=method) as response:
                raise_for_status(response)
                body = b"".join(iter(response.read, b""))
            return body.decode("utf-8")

        return self.retrying(once)

    def head(self, url: str, headers: Mapping[str, str]) -> Response:
        """A HEAD request (retried on 429/5xx/resets); the response has no body."""

        def once() -> Response:
            with self.open(url, headers, data=False, method="HEAD") as response:
                if response.status in RETRYABLE_STATUSES:
                    raise_for_status(response)
                return response

        return self.retrying(once)

    def retrying(self, call: Callable[[], T]) -> T:
        """Run a metadata request under the retry policy (backoff with jitter, Retry-After)."""
        for attempt in range(1, self._retry.attempts + 1):
            try:
                return call()
            except RetryableFetchError as exc:
                if attempt == self._retry.attempts:
                    raise
                delay = retry_after_seconds(exc.retry_after, time.time())
                if delay is None:
                    delay = self._retry.backoff(attempt, self._rng)
                self._sleep(min(delay, self._retry.max_delay))
        raise AssertionError("unreachable")


def _drained(raw: urllib3.BaseHTTPResponse) -> bool:
    try:
        return bool(raw.length_remaining == 0)
    except AttributeError:
        return False


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


def _safe(url: str) -> str:
    """A URL for messages: the query is dropped (it may carry a signature or token)."""
    return url.split("?", 1)[0]
