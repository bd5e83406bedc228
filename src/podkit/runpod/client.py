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

    def __init__(self, http: HttpClient, key: ApiKey, target: Target) -> None:
        self._base = ApiBase(http, key)
        self.http = http
        self.target = target
        # The catalog only exists in v2; both generations use it for preflight and prices.
        self.catalog = r2.Catalog(self._base)

    @property
    def stats(self) -> RequestStats:
        return self.http.stats

    def close(self) -> None:
        self.http.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(target={self.target.name!r}, base={self._base!r})"


class RunPodV2(_Client):
    """REST v2: endpoints carry their container config; templates are optional."""

    api: ApiGeneration = "v2"

    def __init__(self, http: HttpClient, key: ApiKey, target: Target) -> None:
        super().__init__(http, key, target)
        self.endpoints = r2.Endpoints(self._base)
        self.templates = r2.Templates(self._base)
        self.network_volumes = r2.NetworkVolumes(self._base)
        self.registries = r2.Registries(self._base)
        self.releases = r2.Releases(self._base)
        self.workers = r2.Workers(self._base)


class RunPodV1(_Client):
    """REST v1: every endpoint runs a template; env lives on the template."""

    api: ApiGeneration = "v1"

    def __init__(self, http: HttpClient, key: ApiKey, target: Target) -> None:
        super().__init__(http, key, target)
        self.endpoints = r1.Endpoints(self._base)
        self.templates = r1.Templates(self._base)
        self.network_volumes = r1.NetworkVolumes(self._base)
        self.registry_auth = r1.RegistryAuth(self._base)
        # Releases and workers are v2 views of the same endpoints (ids are shared).
        self.releases = r2.Releases(self._base)
        self.workers = r2.Workers(self._base)


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
    origin = resolved.control_v2 if api == "v2" else resolved.control_v1
    http = HttpClient(
        origin,
        headers={"User-Agent": "podkit", "Content-Type": "application/json"},
        transport=transport,
        sleep=sleep,
        retry=retry or RetryPolicy(),
        rng=rng,
    )
    cls = RunPodV2 if api == "v2" else RunPodV1
    return cls(http, key or load_api_key(), resolved)
