"""The GPU and data-center catalog: pools, prices and availability a test can set."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

LEVELS = ("NONE", "LOW", "MEDIUM", "HIGH")

# Pool id -> (serverless USD per GPU-hour, VRAM GB, member type ids). Membership follows the
# references' pool table; prices are plausible list prices, settable by tests.
POOLS: dict[str, tuple[float, int, tuple[str, ...]]] = {
    "AMPERE_16": (
        0.58,
        16,
        (
            "NVIDIA RTX A4000",
            "NVIDIA RTX A4500",
            "NVIDIA RTX 4000 Ada Generation",
            "NVIDIA RTX 2000 Ada Generation",
        ),
    ),
    "AMPERE_24": (0.69, 24, ("NVIDIA RTX A5000", "NVIDIA L4", "NVIDIA GeForce RTX 3090")),
    "ADA_24": (1.1, 24, ("NVIDIA GeForce RTX 4090",)),
    "ADA_32_PRO": (1.58, 32, ("NVIDIA GeForce RTX 5090",)),
    "AMPERE_48": (1.22, 48, ("NVIDIA RTX A6000", "NVIDIA A40")),
    "ADA_48_PRO": (1.9, 48, ("NVIDIA L40", "NVIDIA L40S", "NVIDIA RTX 6000 Ada Generation")),
    "AMPERE_80": (2.72, 80, ("NVIDIA A100 80GB PCIe", "NVIDIA A100-SXM4-80GB")),
    "ADA_80_PRO": (4.18, 80, ("NVIDIA H100 PCIe", "NVIDIA H100 80GB HBM3", "NVIDIA H100 NVL")),
    "HOPPER_141": (5.58, 141, ("NVIDIA H200",)),
    "BLACKWELL_96": (
        3.4,
        96,
        (
            "NVIDIA RTX PRO 6000 Blackwell Server Edition",
            "NVIDIA RTX PRO 6000 Blackwell Workstation Edition",
            "NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition",
        ),
    ),
    "BLACKWELL_180": (6.84, 180, ("NVIDIA B200",)),
}

# The 26 data centers of the v1 enum (v1's default `dataCenterIds`).
DATACENTER_IDS = (
    "EU-RO-1",
    "CA-MTL-1",
    "EU-SE-1",
    "US-IL-1",
    "EUR-IS-1",
    "EU-CZ-1",
    "US-TX-3",
    "EUR-IS-2",
    "US-KS-2",
    "US-GA-2",
    "US-WA-1",
    "US-TX-1",
    "CA-MTL-3",
    "EU-NL-1",
    "US-TX-4",
    "US-CA-2",
    "US-NC-1",
    "OC-AU-1",
    "US-DE-1",
    "EUR-IS-3",
    "CA-MTL-2",
    "AP-JP-1",
    "EUR-NO-1",
    "EU-FR-1",
    "US-KS-3",
    "US-GA-1",
)

CUDA_VERSIONS = (
    "13.0",
    "12.9",
    "12.8",
    "12.7",
    "12.6",
    "12.5",
    "12.4",
    "12.3",
    "12.2",
    "12.1",
    "12.0",
    "11.8",
)

_REGIONS = {
    "EU": "EUROPE",
    "EUR": "EUROPE",
    "US": "NORTH_AMERICA",
    "CA": "NORTH_AMERICA",
    "OC": "OCEANIA",
    "AP": "ASIA",
}


def country_of(dc_id: str) -> str:
    """ISO country of a data center id: `US-KS-2` -> US, `EU-RO-1` -> RO, `OC-AU-1` -> AU."""
    parts = dc_id.split("-")
    return parts[0] if parts[0] in ("US", "CA") else (parts[1] if len(parts) > 1 else "")


def _datacenter(dc_id: str) -> dict[str, Any]:
    prefix = dc_id.split("-", 1)[0]
    return {
        "id": dc_id,
        "name": dc_id,
        "region": _REGIONS.get(prefix, "UNKNOWN"),
        "networkVolumeTypes": ["STANDARD"],
        "compliance": [],
        "globalNetwork": False,
    }


def _gpu(type_id: str, pool: str | None, memory: int, price: float) -> dict[str, Any]:
    prices: dict[str, float] = {"secure": round(price * 0.8, 2), "community": round(price * 0.6, 2)}
    if pool is not None:
        prices["serverless"] = price
    return {
        "id": type_id,
        "name": type_id.replace("NVIDIA ", "").replace("GeForce ", ""),
        "pool": pool,
        "manufacturer": "AMD" if type_id.startswith("AMD") else "NVIDIA",
        "memory": memory,
        "secure": True,
        "community": pool is not None,
        "price": prices,
        "maxCount": {"secure": 8, "community": 8},
    }


def _default_cpus() -> dict[str, dict[str, Any]]:
    flavors = {
        "cpu3c": ("Compute-Optimized", "Gen 3", 2, 0.03),
        "cpu3g": ("General Purpose", "Gen 3", 4, 0.04),
        "cpu5c": ("Compute-Optimized", "Gen 5", 2, 0.04),
        "cpu5g": ("General Purpose", "Gen 5", 4, 0.05),
    }
    return {
        fid: {
            "id": fid,
            "name": name,
            "group": group,
            "vcpu": {"min": 2, "max": 32},
            "ramGbPerVcpu": ram,
            "price": {"securePerVcpu": round(price * 0.8, 3), "serverlessPerVcpu": price},
        }
        for fid, (name, group, ram, price) in flavors.items()
    }


def _default_gpus() -> dict[str, dict[str, Any]]:
    gpus = {}
    for pool, (price, memory, members) in POOLS.items():
        for type_id in members:
            gpus[type_id] = _gpu(type_id, pool, memory, price)
    gpus["AMD Instinct MI300X OAM"] = _gpu("AMD Instinct MI300X OAM", None, 192, 2.99)
    return gpus


@dataclass
class Catalog:
    """GPU types, data centers, per-(GPU, DC) availability. Shared by every account."""

    gpus: dict[str, dict[str, Any]] = field(default_factory=_default_gpus)
    cpus: dict[str, dict[str, Any]] = field(default_factory=_default_cpus)
    datacenters: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {dc: _datacenter(dc) for dc in DATACENTER_IDS}
    )
    # (gpu type id, dc id) -> level; a missing pair means "HIGH" so every default placement works.
    availability: dict[tuple[str, str], str] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    # -- test controls ---------------------------------------------------------------------
    def set_availability(self, gpu_id: str, level: str, *, datacenter: str | None = None) -> None:
        """Set a GPU type's stock level in one data center, or in all of them."""
        if level not in LEVELS:
            raise ValueError(f"availability must be one of {', '.join(LEVELS)}, not {level!r}")
        with self._lock:
            for dc in [datacenter] if datacenter else list(self.datacenters):
                self.availability[(gpu_id, dc)] = level

    def set_pool_price(self, pool: str, usd_per_hour: float) -> None:
        """Set the serverless list price of every type in a pool (they share it)."""
        with self._lock:
            for gpu in self.gpus.values():
                if gpu["pool"] == pool:
                    gpu["price"]["serverless"] = usd_per_hour

    def set_datacenter(self, dc_id: str, **fields: Any) -> None:
        """Add a data center or change its fields (`networkVolumeTypes=[]` forbids volumes)."""
        with self._lock:
            self.datacenters.setdefault(dc_id, _datacenter(dc_id)).update(fields)

    # -- queries ---------------------------------------------------------------------------
    def pools(self) -> dict[str, list[str]]:
        """Pool id -> member type ids, derived from the GPU types."""
        with self._lock:
            result: dict[str, list[str]] = {}
            for gpu in self.gpus.values():
                if gpu["pool"]:
                    result.setdefault(gpu["pool"], []).append(gpu["id"])
            return result

    def level(self, gpu_id: str, dc_id: str) -> str:
        with self._lock:
            return self.availability.get((gpu_id, dc_id), "HIGH")

    def gpu_view(
        self,
        gpu_id: str,
        *,
        with_availability: bool,
        countries: set[str] | None = None,
        cuda: Callable[[str], bool] | None = None,
    ) -> dict[str, Any]:
        """One GPU type as v2 shows it, optionally with availability per data center, scoped
        to data centers in `countries` and to CUDA versions `cuda` accepts."""
        with self._lock:
            view = copy.deepcopy(self.gpus[gpu_id])
            if not with_availability:
                return view
            versions = [v for v in CUDA_VERSIONS if cuda is None or cuda(v)]
            dcs = [
                {"id": dc, "name": self.datacenters[dc]["name"], "availability": lvl}
                for dc in self.datacenters
                if (lvl := self.level(gpu_id, dc)) != "NONE"
                and (countries is None or country_of(dc) in countries)
            ]
            if view["manufacturer"] == "NVIDIA":
                if not versions:
                    dcs = []  # no machine offers the requested CUDA versions
                view["cudaVersions"] = [{"version": v, "available": bool(dcs)} for v in versions]
            view["availability"] = max(
                (d["availability"] for d in dcs), key=LEVELS.index, default="NONE"
            )
            if dcs:
                view["dataCenters"] = dcs
            return view

    def cpu_memory_gb(self, flavor_id: str, vcpus: int) -> int:
        """RAM of a CPU worker: the flavor's GB per vCPU times the vCPU count."""
        per = self.cpus.get(flavor_id, {}).get("ramGbPerVcpu", 2)
        return max(1, int(per * vcpus))

    def cpu_view(self, cpu_id: str, *, with_availability: bool) -> dict[str, Any]:
        """One CPU flavor as v2 shows it (available everywhere)."""
        with self._lock:
            view = copy.deepcopy(self.cpus[cpu_id])
            if with_availability:
                view["availability"] = "HIGH"
                view["dataCenters"] = [
                    {"id": dc, "name": self.datacenters[dc]["name"], "availability": "HIGH"}
                    for dc in self.datacenters
                ]
            return view

    def datacenter_view(self, dc_id: str, *, with_gpus: bool) -> dict[str, Any]:
        """One data center as v2 shows it, optionally with per-GPU availability."""
        with self._lock:
            view = copy.deepcopy(self.datacenters[dc_id])
            if with_gpus:
                view["gpuAvailability"] = [
                    {"id": g, "name": self.gpus[g]["name"], "availability": self.level(g, dc_id)}
                    for g in self.gpus
                ]
            return view

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "gpus": copy.deepcopy(self.gpus),
                "cpus": copy.deepcopy(self.cpus),
                "datacenters": copy.deepcopy(self.datacenters),
                "availability": [[g, d, lvl] for (g, d), lvl in self.availability.items()],
            }

    @classmethod
    def restore(cls, data: dict[str, Any]) -> Catalog:
        return cls(
            gpus=data["gpus"],
            cpus=data.get("cpus") or _default_cpus(),
            datacenters=data["datacenters"],
            availability={(g, d): lvl for g, d, lvl in data["availability"]},
        )
