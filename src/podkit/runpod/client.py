"""The control-plane clients: `RunPodV2` (default) and `RunPodV1` (`--api v1`)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Literal

from podkit._http import BaseTransport, HttpClient, RequestStats, RetryPolicy
from podkit.runpod._base import ApiBase
from podkit.runpod.credentials import ApiKey, load_api_key
from podkit.runpod.resources import v1 as r1
from podkit.runpod.resources import v2 as r2
from podkit.runpod.target import Target, resolve_target

ApiGeneration = Literal["v2", "v1"]


class _Client:
    api: ApiGeneration

    def __init__(
        self, http: HttpClient, key: ApiKey, target: Target, v2_http: HttpClient | None = None
    ) -> None:
        self._base = ApiBase(http, key)
        self.http = http
        self.key = key
        self.target = target
        # The catalog, releases and workers exist only in v2 (same ids as v1), possibly on
        # another host; both generations use them.
        self._v2_http = v2_http or http
        self._v2 = ApiBase(self._v2_http, key) if v2_http else self._base
        self.catalog = r2.Catalog(self._v2)
        self.releases = r2.Releases(self._v2)
        self.workers = r2.Workers(self._v2)

    @property
    def stats(self) -> RequestStats:
        """Requests sent so far, over every host this client talks to."""
        if self._v2_http is self.http:
            return self.http.stats
        total = RequestStats()
        for part in (self.http.stats, self._v2_http.stats):
            total.requests += part.requests
            total.writes += part.writes
            total.retries += part.retries
            for route, count in part.by_route.items():
                total.by_route[route] = total.by_route.get(route, 0) + count
        return total

    def close(self) -> None:
        self.http.close()
        if self._v2_http is not self.http:
            self._v2_http.close()

    def __enter__(self) -> _Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(target={self.target.name!r}, base={self._base!r})"


class RunPodV2(_Client):
    """REST v2: endpoints carry their container config; templates are optional."""

    api: ApiGeneration = "v2"

    def __init__(
        self, http: HttpClient, key: ApiKey, target: Target, v2_http: HttpClient | None = None
    ) -> None:
        super().__init__(http, key, target, v2_http)
        self.endpoints = r2.Endpoints(self._base)
        self.templates = r2.Templates(self._base)
        self.network_volumes = r2.NetworkVolumes(self._base)
        self.registries = r2.Registries(self._base)

    def __enter__(self) -> RunPodV2:
        return self


class RunPodV1(_Client):
    """REST v1: every endpoint runs a template; env lives on the template."""

    api: ApiGeneration = "v1"

    def __init__(
        self, http: HttpClient, key: ApiKey, target: Target, v2_http: HttpClient | None = None
    ) -> None:
        super().__init__(http, key, target, v2_http)
        self.endpoints = r1.Endpoints(self._base)
        self.templates = r1.Templates(self._base)
        self.network_volumes = r1.NetworkVolumes(self._base)
        self.registry_auth = r1.RegistryAuth(self._base)
        # The v2 view of the same endpoints: it reports fields v1 does not (flashboot).
        self.endpoints_v2 = r2.Endpoints(self._v2)

    def __enter__(self) -> RunPodV1:
        return self


RunPodClient = RunPodV2 | RunPodV1


def connect(
    api: ApiGeneration = "v2",
    *,
    target: Target | str | None = None,
    key: ApiKey | None = None,
    transport: BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    retry: RetryPolicy | None = None,
    rng: random.Random | None = None,
) -> RunPodClient:
    """A client for one API generation at one target; every seam has a real default."""
    resolved = target if isinstance(target, Target) else resolve_target(target)

    def http_for(origin: str) -> HttpClient:
        return HttpClient(
            origin,
            headers={"User-Agent": "podkit", "Content-Type": "application/json"},
            transport=transport,
            sleep=sleep,
            retry=retry or RetryPolicy(),
            rng=rng,
        )

    api_key = key or load_api_key()
    if api == "v2":
        return RunPodV2(http_for(resolved.control_v2), api_key, resolved)
    v1_http = http_for(resolved.control_v1)
    same_host = resolved.control_v1 == resolved.control_v2
    return RunPodV1(
        v1_http, api_key, resolved, None if same_host else http_for(resolved.control_v2)
    )
