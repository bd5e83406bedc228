"""Preflight checks on in-memory inputs: each failure names the key and what to change."""

from __future__ import annotations

from typing import Any

import pytest

from podkit.deploy.desired import build_desired
from podkit.deploy.model import Resource, Snapshot
from podkit.deploy.preflight import Inputs, run_preflight
from podkit.errors import PreflightError
from podkit.runpod.types.v2 import GpuType
from tests.unit.deploy.conftest import deployment, gpu


def check(
    catalog: list[GpuType],
    snapshot: Snapshot = Snapshot(),
    api: str = "v2",
    image: str | None = None,
    **kw: Any,
):  # type: ignore[no-untyped-def]
    flags = {k: kw.pop(k) for k in ("worker_quota", "require_digest") if k in kw}
    dep = deployment(**kw)
    desired = build_desired(dep, api=api, catalog=catalog, image=image)
    return run_preflight(Inputs(dep, desired, snapshot, catalog, **flags))


def test_a_good_config_passes(catalog: list[GpuType]) -> None:
    report = check(catalog)
    assert report.errors == []
    report.raise_if_failed()


def test_quota_counts_every_other_endpoint(catalog: list[GpuType]) -> None:
    others = Snapshot((Resource("endpoint", "a", {"workers.max": 4}, id="e1", owner=None),))
    report = check(catalog, others)
    assert any("worker quota" in e and "lower workers_max to 1" in e for e in report.errors)
    with pytest.raises(PreflightError, match="nothing was changed"):
        report.raise_if_failed()
    assert check(catalog, others, worker_quota=10).errors == []


def test_tag_only_image_warns_and_require_digest_errors(catalog: list[GpuType]) -> None:
    tag = "ghcr.io/acme/gpu-worker:0.3.1"
    assert any("not pinned" in w for w in check(catalog, image=tag).warnings)
    errors = check(catalog, image=tag, require_digest=True).errors
    assert any("--image REPO@sha256" in e for e in errors)


def test_gpu_availability_and_placement(catalog: list[GpuType]) -> None:
    ep = {"gpu_types": ["NVIDIA A100 80GB PCIe"], "execution_timeout": 3600.0}
    errors = check(catalog, endpoint=ep).errors  # A100 only in US-TX-3, volume in EU-RO-1
    assert any("none of the chosen GPUs is available in ['EU-RO-1']" in e for e in errors)
    gone = {"gpu_types": ["NVIDIA H200"], "execution_timeout": 3600.0}  # known to podkit
    assert any(
        "the live catalog has no GPU type 'NVIDIA H200'" in e
        for e in check(catalog, endpoint=gone).errors
    )
    sold_out = [g.model_copy(update={"availability": "NONE"}) for g in catalog]
    assert any("no GPU" in e for e in check(sold_out).errors)


def test_cuda_versions_must_be_offered(catalog: list[GpuType]) -> None:
    ep = {"gpu_types": ["NVIDIA L4"], "cuda_versions": ["11.8"], "execution_timeout": 3600.0}
    assert any("cuda_versions" in e for e in check(catalog, endpoint=ep).errors)


def test_load_balancer_on_v1_and_fractional_scaler(catalog: list[GpuType]) -> None:
    lb = {
        "type": "load_balancer",
        "gpu_types": ["NVIDIA L4"],
        "execution_timeout": 3600.0,
        "scaler": {"type": "request_count", "value": 2},
    }
    assert any("--api v2" in e for e in check(catalog, api="v1", endpoint=lb).errors)
    frac = {
        "gpu_types": ["NVIDIA L4"],
        "execution_timeout": 3600.0,
        "scaler": {"type": "queue_delay", "value": 1.5},
    }
    assert any("whole" in e for e in check(catalog, api="v1", endpoint=frac).errors)
    assert check(catalog, api="v2", endpoint=frac).errors == []


def test_registry_credential_must_exist(catalog: list[GpuType]) -> None:
    worker = {"registry_auth": "ghcr-acme"}
    assert any("ghcr-acme" in e for e in check(catalog, worker=worker).errors)
    known = Snapshot(registries=(("ghcr-acme", "reg1"),))
    assert check(catalog, known, worker=worker).errors == []


def test_serverless_pool_is_required(catalog: list[GpuType]) -> None:
    pod_only = [*catalog, gpu("NVIDIA H200", None, 1.0)]  # live: no longer in a pool
    ep = {"gpu_types": ["NVIDIA H200"], "execution_timeout": 3600.0}
    assert any("not offered for serverless" in e for e in check(pod_only, endpoint=ep).errors)


def test_where_the_live_catalog_differs_from_podkits_copy_the_plan_notes_it(
    catalog: list[GpuType],
) -> None:
    newer = [*catalog, gpu("NVIDIA Z900", "ZETA_999", 9.0)]
    notes = check(newer).warnings
    assert any("GPU types podkit does not know yet: ['NVIDIA Z900']" in n for n in notes)
    assert any("the live catalog was used for this plan" in n for n in notes)
