"""Typed clients for the RunPod control plane (REST v2, v1) and the serverless data plane."""

from podkit.runpod.client import ApiGeneration, RunPodClient, RunPodV1, RunPodV2, connect
from podkit.runpod.credentials import ApiKey, load_api_key
from podkit.runpod.target import Target, resolve_target

__all__ = [
    "ApiGeneration",
    "ApiKey",
    "RunPodClient",
    "RunPodV1",
    "RunPodV2",
    "Target",
    "connect",
    "load_api_key",
    "resolve_target",
]
