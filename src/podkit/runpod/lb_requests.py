"""Requests to a load-balancing endpoint: `requestUrls.base` + the worker's own path, with the
Bearer key, answers read as they arrive, and "no workers available" (the platform's answer
while workers scale from zero) retried a few times, 5 s apart, as RunPod advises."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from podkit._http import BaseTransport, HttpClient, Response
from podkit.config.smoke import has_dot_segment
from podkit.errors import ConfigError
from podkit.runpod.client import connect
from podkit.runpod.types import v2

NO_WORKERS = "no workers available"
REQUEST_TIMEOUT_S = 330.0  # the platform's 5.5 minutes per request
ColdStart = Callable[[int, int, float], None]  # (attempt, attempts, wait seconds)


@dataclass(frozen=True)
class ColdStartRetry:
    """How often "no workers available" is tried again, and how long apart."""

    attempts: int = 4
    wait_s: float = 5.0


def read_endpoint(endpoint_id: str, target: str | None = None) -> v2.Endpoint:
    """The endpoint as REST v2 shows it (type and `requestUrls`)."""
    with connect("v2", target=target) as client:
        endpoint = client.endpoints.get(endpoint_id)
    if not isinstance(endpoint, v2.Endpoint):  # connect("v2") answers in v2 types
        raise TypeError(f"expected a REST v2 endpoint, got {type(endpoint).__name__}")
    return endpoint


def base_url(endpoint_id: str, target: str | None = None) -> str:
    """The endpoint's `requestUrls.base`, read from REST v2 (clients should not build it)."""
    return base_of(read_endpoint(endpoint_id, target))


def base_of(endpoint: v2.Endpoint) -> str:
    """`requestUrls.base` of a load-balancing endpoint; a queue endpoint is refused."""
    endpoint_id = endpoint.id
    if endpoint.type != "LOAD_BALANCER":
        raise ConfigError(
            f"endpoint {endpoint_id} ({endpoint.name}) is a queue endpoint: it takes jobs, "
            "not HTTP requests on paths of its own",
            hint=f"run an action on it with `podkit run ACTION --endpoint {endpoint_id}` "
            "(e.g. `podkit run gpu_info`); `podkit request` is for endpoint.type = "
            '"load_balancer"',
        )
    urls = endpoint.request_urls or {}
    return urls.get("base") or f"https://{endpoint_id}.api.runpod.ai"


def is_no_workers(response: Response) -> bool:
    """Whether the platform (not the worker) said no worker is ready yet."""
    if response.status_code < 400:
        return False
    response.read()
    return NO_WORKERS in response.text[:500]


class LbClient:
    """Sends requests to one load-balancing endpoint; never shows the key."""

    def __init__(
        self,
        base: str,
        api_key: str,
        *,
        retry: ColdStartRetry = ColdStartRetry(),
        timeout_s: float = REQUEST_TIMEOUT_S,
        transport: BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        endpoint_id: str = "",
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}", "User-Agent": "podkit"}
        self.http = HttpClient(
            base.rstrip("/"), headers=headers, timeout=timeout_s, transport=transport
        )
        self.retry, self.timeout_s, self._sleep = retry, timeout_s, sleep
        self.endpoint_id = endpoint_id

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> LbClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        on_cold_start: ColdStart | None = None,
    ) -> Iterator[Response]:
        """The answer, open for streaming; "no workers available" is retried first."""
        path = request_path(path)
        check_headers(headers or {})
        attempts = max(1, self.retry.attempts)
        for attempt in range(1, attempts + 1):
            with self.http.send_streamed(
                method, path, content=body, headers=headers, timeout=self.timeout_s
            ) as response:
                if attempt < attempts and is_no_workers(response):
                    if on_cold_start is not None:
                        on_cold_start(attempt, attempts, self.retry.wait_s)
                    self._sleep(self.retry.wait_s)
                    continue
                yield response
                return


def request_path(path: str) -> str:
    """The path as it is sent: always from the root (`health` -> `/health`); ConfigError for
    a `.` or `..` segment, which would climb out of the endpoint's URL prefix."""
    if has_dot_segment(path):
        raise ConfigError(
            f"path {path!r} has a '.' or '..' segment (%2e counts too): requests go to paths "
            "of the endpoint's own workers, and these would leave them",
            hint="write the path the worker serves, without '.' or '..' segments",
        )
    return path if path.startswith("/") else f"/{path}"


def check_headers(headers: Mapping[str, str]) -> None:
    """Refuse, naming the header but never its value (it may be a token), what HTTP cannot
    carry: the HTTP library's own error would quote the value, or crash on it."""
    for name, value in headers.items():
        if not all(" " <= char <= "~" or char == "\t" for char in name + value):
            raise ConfigError(
                f"header {name!r}: it holds a line break or a non-ASCII character, which an "
                "HTTP header cannot carry",
                hint="give each header on one line, in plain ASCII (percent-encode the rest)",
            )
