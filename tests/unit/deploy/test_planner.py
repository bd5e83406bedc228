"""The pure planner against in-memory remote states (no client, no I/O)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from podkit.deploy.desired import build_desired
from podkit.deploy.model import DesiredState, Resource, Snapshot
from podkit.deploy.plan import Create, Delete, Update
from podkit.deploy.planner import plan, plan_destroy
from podkit.errors import DeployError
from podkit.runpod.types.v2 import GpuType
from tests.unit.deploy.conftest import deployment

IDS = {"volume": "vol1", "template": "tpl1", "endpoint": "ep1"}


def live(desired_state: DesiredState) -> Snapshot:
    """The remote as if the desired state had been applied exactly."""
    owner = desired_state.scope.owner
    return Snapshot(tuple(replace(r, id=IDS[r.kind], owner=owner) for r in desired_state.resources))


def test_from_nothing_creates_volume_then_endpoint_on_v2(catalog: list[GpuType]) -> None:
    desired = build_desired(deployment(), api="v2", catalog=catalog)
    result = plan(desired, Snapshot())
    assert [(c.action, c.resource.kind) for c in result.changes] == [
        ("create", "volume"),
        ("create", "endpoint"),
    ]
    endpoint = result.changes[1].resource
    assert endpoint.fields["gpu.pools"] == ["ADA_24"]
    assert endpoint.fields["gpu.excluded"] == ["NVIDIA L4"]
    assert endpoint.fields["env.PODKIT_OWNER"] == "gpu-worker/staging"
    assert endpoint.fields["volume"] == "pk-gpu-worker-staging-models"
    assert result.summary == "2 to create"


def test_from_nothing_on_v1_adds_a_content_addressed_template(catalog: list[GpuType]) -> None:
    desired = build_desired(deployment(), api="v1", catalog=catalog)
    kinds = [c.resource.kind for c in plan(desired, Snapshot()).changes]
    assert kinds == ["volume", "template", "endpoint"]
    again = build_desired(deployment(), api="v1", catalog=catalog)
    assert again.get("template") == desired.get("template")
    other = build_desired(
        deployment(), api="v1", catalog=catalog, image="ghcr.io/acme/w@sha256:" + "b" * 64
    )
    assert other.get("template").name != desired.get("template").name  # type: ignore[union-attr]


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_applied_state_plans_no_changes(api: str, catalog: list[GpuType]) -> None:
    desired = build_desired(deployment(), api=api, catalog=catalog)
    result = plan(desired, live(desired))
    assert result.changes == ()
    assert result.summary == "no changes"
    assert {k for k, _, _ in result.bindings} == {r.kind for r in desired.resources}


def test_new_digest_is_one_field_level_update(catalog: list[GpuType]) -> None:
    old = build_desired(deployment(), api="v2", catalog=catalog)
    new_image = "ghcr.io/acme/gpu-worker@sha256:" + "c" * 64
    new = build_desired(deployment(), api="v2", catalog=catalog, image=new_image)
    result = plan(new, live(old))
    (change,) = result.changes
    assert isinstance(change, Update)
    assert change.remote_id == "ep1"
    assert [(c.field, c.new) for c in change.changes] == [("image", new_image)]


def test_v1_new_digest_swaps_template_then_deletes_the_old_one(catalog: list[GpuType]) -> None:
    old = build_desired(deployment(), api="v1", catalog=catalog)
    new = build_desired(
        deployment(), api="v1", catalog=catalog, image="ghcr.io/a/b@sha256:" + "d" * 64
    )
    result = plan(new, live(old))
    assert [(c.action, c.resource.kind) for c in result.changes] == [
        ("create", "template"),
        ("update", "endpoint"),
        ("delete", "template"),
    ]


def test_secret_values_are_masked_in_every_diff(catalog: list[GpuType]) -> None:
    desired = build_desired(deployment(), api="v2", catalog=catalog)
    remote = live(desired)
    ep = remote.resources[1]
    leaked = dict(ep.fields) | {"env.HF_TOKEN": "hf_live_value_123"}
    result = plan(desired, Snapshot((remote.resources[0], replace(ep, fields=leaked))))
    (change,) = result.changes
    (item,) = change.changes
    assert item.field == "env.HF_TOKEN" and item.secret
    assert "hf_live_value_123" not in str(item.shown())


def test_remote_env_key_not_in_config_is_removed(catalog: list[GpuType]) -> None:
    desired = build_desired(deployment(), api="v2", catalog=catalog)
    remote = live(desired)
    ep = remote.resources[1]
    extra = replace(ep, fields=dict(ep.fields) | {"env.DEBUG": "1"})
    (change,) = plan(desired, Snapshot((remote.resources[0], extra))).changes
    assert [(c.field, c.old, c.new) for c in change.changes] == [("env.DEBUG", "1", None)]


def test_a_same_named_object_podkit_does_not_own_is_refused(catalog: list[GpuType]) -> None:
    desired = build_desired(deployment(), api="v2", catalog=catalog)
    ep = desired.get("endpoint")
    assert ep is not None
    stranger = Resource("endpoint", ep.name, {"image": "x"}, id="ep9", owner=None)
    with pytest.raises(DeployError, match="not owned by gpu-worker/staging"):
        plan(desired, Snapshot((stranger,)))


def test_every_duplicate_is_reported_and_never_adopted(catalog: list[GpuType]) -> None:
    desired = build_desired(deployment(), api="v2", catalog=catalog)
    vol, ep = live(desired).resources
    twins = (vol, replace(vol, id="vol0"), ep, replace(ep, id="ep0"))
    with pytest.raises(DeployError) as caught:
        plan(desired, Snapshot(twins))
    message = caught.value.message
    assert "2 owned object(s) of gpu-worker/staging exist more than once" in message
    assert "volume pk-gpu-worker-staging-models (vol0, vol1)" in message
    assert "endpoint gpu-worker-staging (ep0, ep1)" in message
    assert "podkit apply --keep ID" in (caught.value.hint or "")


def test_keep_chooses_the_copy_and_deletes_the_others(catalog: list[GpuType]) -> None:
    desired = build_desired(deployment(), api="v2", catalog=catalog)
    vol, ep = live(desired).resources
    twins = (vol, replace(vol, id="vol0"), ep, replace(ep, id="ep0"))
    with pytest.raises(DeployError, match=r"volume pk-gpu-worker-staging-models \(vol0, vol1\)"):
        plan(desired, Snapshot(twins), keep=frozenset({"ep1"}))  # the volume is still ambiguous
    result = plan(desired, Snapshot(twins), keep=frozenset({"vol1", "ep0"}))
    deleted = sorted((c.resource.kind, c.resource.id) for c in result.changes)
    assert deleted == [("endpoint", "ep1"), ("volume", "vol0")]
    assert all(isinstance(c, Delete) for c in result.changes)
    assert ("endpoint", "gpu-worker-staging", "ep0") in result.bindings


def test_a_keep_that_names_no_duplicate_is_refused(catalog: list[GpuType]) -> None:
    desired = build_desired(deployment(), api="v2", catalog=catalog)
    vol, ep = live(desired).resources
    with pytest.raises(DeployError) as caught:
        plan(desired, Snapshot((vol, ep)), keep=frozenset({"../x"}))
    assert caught.value.message == (
        "--keep '../x' names no duplicated object of gpu-worker/staging (there are none)"
    )
    assert caught.value.hint == (
        "give --keep only the id of one copy of a duplicated object (`podkit plan` names the "
        "copies), or leave --keep out"
    )
    twins = (vol, replace(vol, id="vol0"), ep)
    with pytest.raises(DeployError) as caught:
        plan(desired, Snapshot(twins), keep=frozenset({"vol0", "ep1", "ep9"}))
    assert caught.value.message == (
        "--keep 'ep9' names no duplicated object of gpu-worker/staging "
        "(the duplicated ids are vol0, vol1)"
    )


def test_volume_shrink_and_move_are_refused(catalog: list[GpuType]) -> None:
    desired = build_desired(deployment(), api="v2", catalog=catalog)
    vol, ep = live(desired).resources
    bigger = replace(vol, fields={"size_gb": 80, "data_center": "EU-RO-1"})
    with pytest.raises(DeployError, match="can only grow"):
        plan(desired, Snapshot((bigger, ep)))
    moved = replace(vol, fields={"size_gb": 50, "data_center": "US-TX-3"})
    with pytest.raises(DeployError, match="cannot move"):
        plan(desired, Snapshot((moved, ep)))


def test_type_change_replaces_the_endpoint_delete_first(catalog: list[GpuType]) -> None:
    desired = build_desired(deployment(), api="v2", catalog=catalog)
    vol, ep = live(desired).resources
    lb = replace(ep, fields=dict(ep.fields) | {"type": "LOAD_BALANCER"})
    result = plan(desired, Snapshot((vol, lb)))
    assert [c.action for c in result.changes] == ["delete", "create"]


def test_renamed_endpoint_deletes_the_old_owned_one_but_keeps_volumes(
    catalog: list[GpuType],
) -> None:
    old = build_desired(deployment(), api="v2", catalog=catalog)
    new = build_desired(
        deployment(
            endpoint={"name": "renamed", "gpu_types": ["NVIDIA L4"]},
            volume={"name": "models2", "size_gb": 50, "datacenter": "EU-RO-1"},
        ),
        api="v2",
        catalog=catalog,
    )
    result = plan(new, live(old))
    assert [(c.action, c.resource.kind, c.resource.name) for c in result.changes] == [
        ("create", "volume", "pk-gpu-worker-staging-models2"),
        ("create", "endpoint", "renamed"),
        ("delete", "endpoint", "gpu-worker-staging"),
    ]
    assert any("pk-gpu-worker-staging-models" in n and "kept" in n for n in result.notes)


def test_cost_estimate_from_catalog_prices(catalog: list[GpuType]) -> None:
    desired = build_desired(
        deployment(
            endpoint={
                "gpu_types": ["NVIDIA GeForce RTX 4090"],
                "workers_min": 1,
                "workers_max": 2,
                "execution_timeout": 3600.0,
            }
        ),
        api="v2",
        catalog=catalog,
    )
    result = plan(desired, Snapshot(), prices={"ADA_24": 1.116})
    assert result.cost is not None
    assert result.cost.hourly_before == 0.0
    assert result.cost.hourly_after == pytest.approx(1.116)
    assert result.cost.volume_monthly_after == pytest.approx(50 * 0.07)


def test_destroy_touches_only_owned_objects_and_volumes_on_request(
    catalog: list[GpuType],
) -> None:
    desired = build_desired(deployment(), api="v1", catalog=catalog)
    remote = live(desired)
    foreign = Resource("endpoint", "someone-else", {}, id="ep7", owner="other/staging")
    snap = Snapshot((*remote.resources, foreign))
    keep = plan_destroy(desired.scope, "v1", snap, volumes=False)
    assert [(c.resource.kind, c.resource.id) for c in keep.changes] == [
        ("endpoint", "ep1"),
        ("template", "tpl1"),
    ]
    assert keep.notes
    everything = plan_destroy(desired.scope, "v1", snap, volumes=True)
    assert [c.resource.kind for c in everything.changes] == ["endpoint", "template", "volume"]


def test_plan_order_is_total_and_stable(catalog: list[GpuType]) -> None:
    desired = build_desired(deployment(), api="v1", catalog=catalog)
    first = plan(desired, Snapshot())
    shuffled = replace(desired, resources=tuple(reversed(desired.resources)))
    assert plan(shuffled, Snapshot()).changes == first.changes
    assert all(isinstance(c, Create) for c in first.changes)
