"""Estimated running cost from catalog prices: always-on workers and volume storage."""

from __future__ import annotations

from collections.abc import Mapping

from podkit.deploy.model import Resource

# Network volume storage, USD per GB per month (RunPod serverless pricing page).
VOLUME_PRICE_SMALL = 0.07
VOLUME_PRICE_LARGE = 0.05
LARGE_VOLUME_GB = 1000


def per_gpu_price(endpoint: Resource, prices: Mapping[str, float]) -> float | None:
    """The worst-case per-GPU hourly price over the endpoint's pools or GPU types."""
    ids = endpoint.fields.get("gpu.pools") or endpoint.fields.get("gpu.types") or []
    known = [prices[i] for i in ids if i in prices]
    return max(known) if known else None


def always_on_hourly(endpoint: Resource | None, prices: Mapping[str, float]) -> float | None:
    """USD/hour for `workers.min` workers kept warm (0 when there is no endpoint)."""
    if endpoint is None:
        return 0.0
    price = per_gpu_price(endpoint, prices)
    if price is None:
        return None
    workers = int(endpoint.fields.get("workers.min", 0) or 0)
    count = int(endpoint.fields.get("gpu.count", 1) or 1)
    return round(workers * count * price, 4)


def volume_monthly(volume: Resource | None) -> float:
    if volume is None:
        return 0.0
    size = int(volume.fields.get("size_gb", 0) or 0)
    rate = VOLUME_PRICE_LARGE if size > LARGE_VOLUME_GB else VOLUME_PRICE_SMALL
    return round(size * rate, 4)
