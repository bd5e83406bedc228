"""plan -> apply -> re-apply -> new digest -> rollback -> destroy, against the local RunPod."""

from __future__ import annotations

from pathlib import Path

import pytest

from podkit.deploy import service
from podkit.deploy.history import History
from podkit.deploy.status import read_status
from podkit.errors import PreflightError
from podkit.runpod import RunPodClient, RunPodV1
from podkit.runpod.types import v2
from tests.functional.deploy.helpers import (
    DIGEST_A,
    DIGEST_B,
    IMAGE_B,
    client,
    inventory,
    load,
    new_key,
    write_config,
)


def live_image(c: RunPodClient, endpoint_id: str) -> str:
    if isinstance(c, RunPodV1):
        ep = c.endpoints.get(endpoint_id)
        return c.templates.get(ep.template_id or "").image_name
    return c.endpoints.get(endpoint_id).image or ""


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_apply_reapply_new_digest_and_rollback(local_runpod, tmp_path: Path, api: str) -> None:
    key = new_key()
    deployment = load(write_config(tmp_path))
    history = History(service.scope_for(deployment), tmp_path)
    with client(local_runpod.url, key, api) as c:
        first = service.prepare(c, deployment)
        assert [ch.resource.kind for ch in first.plan.changes] == (
            ["volume", "endpoint"] if api == "v2" else ["volume", "template", "endpoint"]
        )
        applied = service.apply_prepared(c, first, history)
        endpoint_id = applied.endpoint_id
        assert endpoint_id and applied.record and applied.record.number == 1
    assert {k: len(v) for k, v in inventory(local_runpod.url, key, api).items()} == {
        "volume": 1, "template": 0 if api == "v2" else 1, "endpoint": 1,
    }  # fmt: skip

    with client(local_runpod.url, key, api) as c:  # second apply: reads only
        again = service.prepare(c, deployment)
        assert again.plan.summary == "no changes"
        service.apply_prepared(c, again, history)
        assert c.stats.writes == 0
    assert len(history.records()) == 1

    with client(local_runpod.url, key, api) as c:  # a new digest: one update, a new release
        releases_before = len(c.releases.list(endpoint_id).releases)
        new = service.prepare(c, deployment, service.Options(image=IMAGE_B))
        updates = [ch for ch in new.plan.changes if ch.action == "update"]
        assert len(updates) == 1 and updates[0].resource.kind == "endpoint"
        service.apply_prepared(c, new, history)
        assert DIGEST_B in live_image(c, endpoint_id)
        assert len(c.releases.list(endpoint_id).releases) > releases_before

    with client(local_runpod.url, key, api) as c:  # rollback: the previous digest is live
        back = service.prepare_rollback(c, history, None)
        service.apply_prepared(c, back, history, source="rollback")
        assert DIGEST_A in live_image(c, endpoint_id)
        assert service.prepare(c, deployment).plan.summary == "no changes"
        report = read_status(c, deployment, history, None)
        assert report["endpoints"][0]["image"].endswith(DIGEST_A)
        assert report["history"]["current"] == 3
    assert [r.image.endswith(DIGEST_A) for r in history.records()] == [True, False, True]
    assert {k: len(v) for k, v in inventory(local_runpod.url, key, api).items()}["endpoint"] == 1


def test_quota_overrun_is_refused_in_preflight_with_zero_writes(
    local_runpod, tmp_path: Path
) -> None:
    key = new_key()
    with client(local_runpod.url, key) as c:
        c.endpoints.create(
            v2.EndpointCreate(
                name="someone-else",
                type="QUEUE",
                scaling=v2.QueueDelayScaling(queue_delay=4),
                image="busybox",
                gpu=v2.EndpointGpuCreate(pools=["ADA_24"], count=1),
                workers=v2.EndpointWorkers(min=0, max=4),
            )
        )
    deployment = load(write_config(tmp_path), env=None)  # workers_max = 2, quota 5
    with client(local_runpod.url, key) as c:
        with pytest.raises(PreflightError, match=r"worker quota.*lower workers_max to 1") as info:
            service.prepare(c, deployment, service.Options(worker_quota=5))
        assert c.stats.writes == 0
    assert "nothing was changed" in str(info.value)
    assert inventory(local_runpod.url, key, "v2") == {
        "volume": [], "template": [], "endpoint": ["someone-else"],
    }  # fmt: skip


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_destroy_deletes_only_owned_objects_and_volumes_on_request(
    local_runpod, tmp_path: Path, api: str
) -> None:
    key = new_key()
    staging = load(write_config(tmp_path))
    production = load(tmp_path / "podkit.toml", env=None)
    with client(local_runpod.url, key, api) as c:
        for dep in (staging, production):
            service.apply_prepared(
                c, service.prepare(c, dep), History(service.scope_for(dep), tmp_path)
            )
        plan, snap = service.prepare_destroy(c, service.scope_for(staging), volumes=False)
        service.destroy(c, plan, snap)
    left = inventory(local_runpod.url, key, api)
    assert left["endpoint"] == ["gpu-worker"]  # production (no env) untouched
    assert len(left["volume"]) == 2  # staging's volume kept without --volumes
    with client(local_runpod.url, key, api) as c:
        plan, snap = service.prepare_destroy(c, service.scope_for(staging), volumes=True)
        service.destroy(c, plan, snap)
    assert inventory(local_runpod.url, key, api)["volume"] == ["pk-gpu-worker-default-models"]


def test_sold_out_gpus_and_unpriced_pools_show_in_preflight_and_cost(
    local_runpod, tmp_path: Path
) -> None:
    key = new_key()
    deployment = load(write_config(tmp_path), env=None, endpoint__workers_min=1)
    local_runpod.backend.catalog.set_pool_price("ADA_24", 2.5)
    with client(local_runpod.url, key) as c:
        prepared = service.prepare(c, deployment)
        assert prepared.plan.cost is not None
        assert prepared.plan.cost.hourly_after == 2.5  # one always-on worker x the pool price
        local_runpod.backend.catalog.set_availability("NVIDIA GeForce RTX 4090", "NONE")
        with pytest.raises(PreflightError, match=r"no GPU of endpoint\.gpu_types"):
            service.prepare(c, deployment)
        assert c.stats.writes == 0


def test_live_quirks_flashboot_ignored_on_v1_create_and_delete_needing_zero_workers(
    local_runpod, tmp_path: Path
) -> None:
    """Two documented live behaviours, switched on in the local RunPod: v1 create keeps
    FlashBoot on when asked for off (caught by reading the v2 view, then fixed), and
    deleting an endpoint with workers is refused (podkit scales it to zero first)."""
    local_runpod.backend.quirks.v1_ignore_flashboot_false_on_create = True
    local_runpod.backend.quirks.require_zero_workers_before_delete = True
    key = new_key()
    deployment = load(write_config(tmp_path), endpoint__flashboot="false")
    history = History(service.scope_for(deployment), tmp_path)
    with client(local_runpod.url, key, "v1") as c:
        applied = service.apply_prepared(c, service.prepare(c, deployment), history)
        endpoint_id = applied.endpoint_id or ""
        assert c.endpoints_v2.get(endpoint_id).flashboot == "OFF"
        patches = f"PATCH /v1/endpoints/{endpoint_id}"
        assert c.stats.by_route[patches] == 1  # the create ignored flashboot=false: fixed once
        plan, snap = service.prepare_destroy(c, service.scope_for(deployment), volumes=True)
        service.destroy(c, plan, snap)
        assert c.stats.by_route[patches] == 2  # scaled to zero workers
        assert c.stats.by_route[f"DELETE /v1/endpoints/{endpoint_id}"] == 2  # refused, then done
    assert inventory(local_runpod.url, key, "v1") == {"volume": [], "template": [], "endpoint": []}
