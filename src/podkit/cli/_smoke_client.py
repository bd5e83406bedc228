"""The client `[[smoke]]` tests go through: the data plane's jobs for a queue endpoint, the
endpoint's own HTTP paths for a load-balancing one."""

from __future__ import annotations

from podkit.cli._jobs_common import jobs_client
from podkit.runpod.credentials import load_api_key
from podkit.runpod.jobs import JobsClient
from podkit.runpod.lb_requests import LbClient, base_of, read_endpoint


def smoke_client(endpoint_id: str, target: str | None) -> JobsClient | LbClient:
    """A jobs client, or an HTTP client when the endpoint is LOAD_BALANCER (one v2 read)."""
    endpoint = read_endpoint(endpoint_id, target)
    if endpoint.type != "LOAD_BALANCER":
        return jobs_client(endpoint_id, target)
    key = load_api_key().reveal()
    return LbClient(base_of(endpoint), key, endpoint_id=endpoint_id)
