"""The RunPod catalog as podkit shipped it: GPU type ids by pool, data centers, CUDA versions.

podkit.toml names are checked against this snapshot before any request, so a typo in a GPU
id or a data center is refused at its line. At plan time the live catalog is read as ever and
wins where the two differ (`drift` says how; the plan notes it). Update it from the API's
`GET /gputypes` and `GET /datacenters` when RunPod adds hardware. Until then,
`PODKIT_CATALOG=live` lets names this copy does not know through, to be judged by the live
catalog at plan time (near misses of known names are still refused).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping

# Pool id -> the GPU type ids it groups (RunPod's pool table).
POOLS: Mapping[str, tuple[str, ...]] = {
    "AMPERE_16": (
        "NVIDIA RTX A4000",
        "NVIDIA RTX A4500",
        "NVIDIA RTX 4000 Ada Generation",
        "NVIDIA RTX 2000 Ada Generation",
    ),
    "AMPERE_24": ("NVIDIA RTX A5000", "NVIDIA L4", "NVIDIA GeForce RTX 3090"),
    "ADA_24": ("NVIDIA GeForce RTX 4090",),
    "ADA_32_PRO": ("NVIDIA GeForce RTX 5090",),
    "AMPERE_48": ("NVIDIA RTX A6000", "NVIDIA A40"),
    "ADA_48_PRO": ("NVIDIA L40", "NVIDIA L40S", "NVIDIA RTX 6000 Ada Generation"),
    "AMPERE_80": ("NVIDIA A100 80GB PCIe", "NVIDIA A100-SXM4-80GB"),
    "ADA_80_PRO": ("NVIDIA H100 PCIe", "NVIDIA H100 80GB HBM3", "NVIDIA H100 NVL"),
    "HOPPER_141": ("NVIDIA H200",),
    "BLACKWELL_96": (
        "NVIDIA RTX PRO 6000 Blackwell Server Edition",
        "NVIDIA RTX PRO 6000 Blackwell Workstation Edition",
        "NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition",
    ),
    "BLACKWELL_180": ("NVIDIA B200",),
}

# GPU types RunPod lists that serverless does not offer (no pool).
NOT_SERVERLESS: tuple[str, ...] = ("AMD Instinct MI300X OAM",)

DATACENTERS: tuple[str, ...] = (
    "EU-RO-1", "CA-MTL-1", "EU-SE-1", "US-IL-1", "EUR-IS-1", "EU-CZ-1", "US-TX-3", "EUR-IS-2",
    "US-KS-2", "US-GA-2", "US-WA-1", "US-TX-1", "CA-MTL-3", "EU-NL-1", "US-TX-4", "US-CA-2",
    "US-NC-1", "OC-AU-1", "US-DE-1", "EUR-IS-3", "CA-MTL-2", "AP-JP-1", "EUR-NO-1", "EU-FR-1",
    "US-KS-3", "US-GA-1",
)  # fmt: skip

CUDA_VERSIONS: tuple[str, ...] = (
    "13.0", "12.9", "12.8", "12.7", "12.6", "12.5", "12.4", "12.3", "12.2", "12.1", "12.0", "11.8",
)  # fmt: skip

SERVERLESS_GPUS: tuple[str, ...] = tuple(gpu for members in POOLS.values() for gpu in members)


def _same_name(value: str, known: Iterable[str]) -> str | None:
    """The known name written another way: other case, or a display name without the
    vendor prefix ("H100 80GB HBM3")."""
    folded = {name.casefold(): name for name in known}
    for candidate in (value, f"NVIDIA {value}", f"NVIDIA GeForce {value}"):
        if candidate.casefold() in folded:
            return folded[candidate.casefold()]
    return None


def _close(value: str, known: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


LIVE_ONLY = "PODKIT_CATALOG"
_NEWER = f"; for hardware newer than this podkit, set {LIVE_ONLY}=live"


def _live_only() -> bool:
    return os.environ.get(LIVE_ONLY, "").strip().lower() == "live"


def _check(value: str, known: Iterable[str], what: str, listing: str) -> str:
    """`value` if known (or left to the live catalog); ValueError with the near name."""
    choices = list(known)
    if value in choices:
        return value
    same = _same_name(value, choices)
    if same is None and _live_only():
        return value
    near = same or _close(value, choices)
    newer = "" if same else _NEWER
    fix = f"did you mean {near!r}?{newer}" if near else f"use {listing}{newer}"
    raise ValueError(f"{value!r} is not a known {what}; {fix}")


def check_gpu_type(value: str) -> str:
    """A serverless GPU type id, or ValueError in words with the near id."""
    if value in SERVERLESS_GPUS:
        return value
    if value in NOT_SERVERLESS:
        raise ValueError(
            f"{value!r} is not offered for serverless; pick a type of a pool, e.g. "
            "'NVIDIA A100 80GB PCIe' (see docs/config.md)"
        )
    return _check(
        value, SERVERLESS_GPUS, "GPU type id", "a full type id such as 'NVIDIA H100 80GB HBM3'"
    )


def check_pool(value: str) -> str:
    """A GPU pool id such as AMPERE_80, or ValueError with the near id."""
    return _check(value, POOLS, "GPU pool", f"one of {', '.join(POOLS)}")


def check_datacenter(value: str) -> str:
    """A data center id such as EU-RO-1, or ValueError with the near id."""
    return _check(value, DATACENTERS, "data center", "an id such as 'EU-RO-1' or 'US-KS-2'")


def check_cuda(value: str) -> str:
    """A CUDA version RunPod offers ("12.4"), or ValueError listing them."""
    return _check(value, CUDA_VERSIONS, "CUDA version", f"one of {', '.join(CUDA_VERSIONS)}")


def drift(live: Mapping[str, str | None]) -> list[str]:
    """How the live catalog (GPU type id -> pool) differs from this snapshot in what
    serverless offers, one note each (types outside any pool are not serverless's concern)."""
    notes = []
    known = {gpu: pool for pool, members in POOLS.items() for gpu in members}
    offered = {gpu: pool for gpu, pool in live.items() if pool}
    added = sorted(gpu for gpu in offered if gpu not in known)
    gone = sorted(gpu for gpu in known if gpu not in offered)
    moved = sorted(gpu for gpu in offered if gpu in known and offered[gpu] != known[gpu])
    if added:
        notes.append(f"the live catalog has GPU types podkit does not know yet: {added}")
    if gone:
        notes.append(f"GPU types podkit knows are not offered in the live catalog: {gone}")
    if moved:
        notes.append(f"GPU types in another pool than podkit knows: {moved}")
    if notes:
        notes.append("the live catalog was used for this plan; upgrade podkit to update its copy")
    return notes
