"""In-memory deployments and catalogs for the pure deploy stages."""

from __future__ import annotations

from typing import Any

import pytest

from podkit.config import Deployment
from podkit.runpod.types.v2 import GpuType

DIGEST = "sha256:" + "a" * 64
IMAGE = f"ghcr.io/acme/gpu-worker:0.3.1@{DIGEST}"


def deployment(**overrides: Any) -> Deployment:
    data: dict[str, Any] = {
        "project": "gpu-worker",
        "environment": "staging",
        "image": {"ref": IMAGE},
        "worker": {"env": {"LOG_LEVEL": "info"}, "secrets": {"HF_TOKEN": "hf_token"}},
        "volume": {"name": "models", "size_gb": 50, "datacenter": "EU-RO-1"},
        "endpoint": {
            "gpu_types": ["NVIDIA GeForce RTX 4090"],
            "workers_max": 2,
            "execution_timeout": 3600.0,
        },
    }
    for key, value in overrides.items():
        section, _, field = key.partition("__")
        if field:
            data.setdefault(section, {})[field] = value
        else:
            data[section] = value
    return Deployment.model_validate(data)


def gpu(gid: str, pool: str | None, price: float, dcs: tuple[str, ...] = ("EU-RO-1",)) -> GpuType:
    return GpuType.model_validate(
        {
            "id": gid,
            "name": gid,
            "pool": pool,
            "price": {"serverless": price},
            "availability": "HIGH",
            "dataCenters": [{"id": d, "availability": "HIGH"} for d in dcs],
            "cudaVersions": [{"version": "12.4", "available": True}],
        }
    )


CATALOG = [
    gpu("NVIDIA GeForce RTX 4090", "ADA_24", 0.00031 * 3600),
    gpu("NVIDIA L4", "ADA_24", 0.00031 * 3600),
    gpu("NVIDIA A100 80GB PCIe", "AMPERE_80", 0.00076 * 3600, ("US-TX-3",)),
]


@pytest.fixture
def catalog() -> list[GpuType]:
    return list(CATALOG)
