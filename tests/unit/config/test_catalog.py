"""podkit's copy of the catalog agrees with the local RunPod's, which stands in for the live one."""

from __future__ import annotations

from podkit.config import catalog
from podkit.emulator.backend.catalog import CUDA_VERSIONS, DATACENTER_IDS, Catalog


def test_the_snapshot_matches_the_local_runpods_default_catalog() -> None:
    live = Catalog()
    assert catalog.drift({gpu_id: gpu["pool"] for gpu_id, gpu in live.gpus.items()}) == []
    assert {pool: tuple(ids) for pool, ids in live.pools().items()} == dict(catalog.POOLS)
    assert catalog.DATACENTERS == DATACENTER_IDS
    assert catalog.CUDA_VERSIONS == CUDA_VERSIONS
    assert set(live.gpus) - set(catalog.SERVERLESS_GPUS) == set(catalog.NOT_SERVERLESS)


def test_drift_names_each_kind_of_difference() -> None:
    live: dict[str, str | None] = {g: p for p, ids in catalog.POOLS.items() for g in ids}
    live["NVIDIA Z900"] = "ZETA_96"  # new
    del live["NVIDIA B200"]  # gone
    live["NVIDIA L4"] = "ADA_24"  # moved
    live["NVIDIA Pod Only"] = None  # not serverless: none of its business
    notes = catalog.drift(live)
    assert notes == [
        "the live catalog has GPU types podkit does not know yet: ['NVIDIA Z900']",
        "GPU types podkit knows are not offered in the live catalog: ['NVIDIA B200']",
        "GPU types in another pool than podkit knows: ['NVIDIA L4']",
        "the live catalog was used for this plan; upgrade podkit to update its copy",
    ]
