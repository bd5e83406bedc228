"""The data plane's `/health` for one queue endpoint: job counts and worker states."""

from __future__ import annotations

from typing import Any

from podkit._http import HttpClient
from podkit.runpod._base import ApiBase, path_id
from podkit.runpod.credentials import ApiKey
from podkit.runpod.target import Target
from podkit.runpod.types._common import Response


class HealthJobs(Response):
    completed: int = 0
    failed: int = 0
    in_progress: int = 0
    in_queue: int = 0
    retried: int = 0


class Health(Response):
    jobs: HealthJobs = HealthJobs()
    workers: dict[str, Any] = {}  # noqa: RUF012  (pydantic copies defaults)


def endpoint_health(target: Target, key: ApiKey, endpoint_id: str, **http: Any) -> Health:
    """`GET {data plane}/v2/{id}/health` (queue depth for `podkit status`)."""
    with HttpClient(target.data_plane, **http) as client:
        api = ApiBase(client, key)
        data = api.request("GET", f"/v2/{path_id(endpoint_id, 'endpoint')}/health")
        return api.parse(Health, data, f"health of endpoint {endpoint_id}")
