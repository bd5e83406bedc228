"""The planner's rules at their edges: replace vs update, duplicates and `--keep`, size
boundaries, and the ownership check when owned and foreign objects share a name."""

from __future__ import annotations

from dataclasses import replace

import pytest

from podkit.deploy.desired import build_desired
from podkit.deploy.model import DesiredState, Resource, Snapshot
from podkit.deploy.plan import Create, Delete, Update
from podkit.deploy.planner import diff_fields, plan, plan_destroy
from podkit.errors import DeployError
from podkit.runpod.types.v2 import GpuType
from tests.unit.deploy.conftest import deployment
from tests.unit.deploy.remote_model import apply_plan


@pytest.fixture
def desired(catalog: list[GpuType]) -> DesiredState:
    return build_desired(deployment(), api="v2", catalog=catalog)


def _live(desired: DesiredState) -> tuple[Resource, Resource]:
    owner = desired.scope.owner
    vol, ep = desired.resources
    return replace(vol, id="vol1", owner=owner), replace(ep, id="ep1", owner=owner)


def _with(resource: Resource, **fields: object) -> Resource:
    return replace(resource, fields=dict(resource.fields) | fields)


def test_type_and_another_field_changed_is_a_replace_not_an_update(
    desired: DesiredState,
) -> None:
    vol, ep = _live(desired)
    remote = _with(ep, type="LOAD_BALANCER", **{"workers.max": 7})
    result = plan(desired, Snapshot((vol, remote)))
    assert [(type(c), c.resource.kind) for c in result.changes] == [
        (Delete, "endpoint"),
        (Create, "endpoint"),
    ]
    assert result.changes[0].resource.id == "ep1"
    assert isinstance(result.changes[0], Delete) and result.changes[0].reason.startswith("replaced")


def test_other_fields_changed_without_the_type_is_one_update(desired: DesiredState) -> None:
    vol, ep = _live(desired)
    remote = _with(ep, image="old:1", **{"workers.max": 7})
    (change,) = plan(desired, Snapshot((vol, remote))).changes
    assert isinstance(change, Update) and change.remote_id == "ep1"
    assert {c.field for c in change.changes} == {"image", "workers.max"}


def test_duplicates_are_refused_naming_every_copy_and_the_way_out(
    desired: DesiredState,
) -> None:
    vol, ep = _live(desired)
    vol_twin = replace(vol, id="vol0", fields=dict(vol.fields) | {"size_gb": 40})
    ep_twin = _with(replace(ep, id="ep0"), **{"workers.max": 9})
    with pytest.raises(DeployError) as err:
        plan(desired, Snapshot((vol_twin, vol, ep, ep_twin)))
    assert err.value.message == (
        "2 owned object(s) of gpu-worker/staging exist more than once: "
        "volume pk-gpu-worker-staging-models (vol0, vol1); endpoint gpu-worker-staging (ep0, ep1)"
    )
    assert err.value.hint == (
        "keep one of each with `podkit apply --keep ID` (repeatable; it deletes the other "
        "copies, a volume's data with it, and needs --force), or delete the extra copies in "
        "the RunPod console"
    )


def test_keep_converges_onto_the_kept_copies_and_deletes_the_others(
    desired: DesiredState,
) -> None:
    vol, ep = _live(desired)
    vol_twin = replace(vol, id="vol0", fields=dict(vol.fields) | {"size_gb": 40})
    ep_twin = _with(replace(ep, id="ep0"), **{"workers.max": 9})
    snapshot = Snapshot((vol_twin, vol, ep, ep_twin))
    keep = frozenset({"vol0", "ep1"})
    result = plan(desired, snapshot, keep=keep)
    assert [(c.action, c.resource.id) for c in result.changes] == [
        ("update", None),  # vol0 grows from 40 to 50 GB
        ("delete", "ep0"),
        ("delete", "vol1"),
    ]
    assert isinstance(result.changes[0], Update) and result.changes[0].remote_id == "vol0"
    reasons = [c.reason for c in result.changes if isinstance(c, Delete)]
    assert reasons == ["duplicate of ep1 (--keep)", "duplicate of vol0 (--keep)"]
    assert ("volume", vol.name, "vol0") in result.bindings
    assert ("endpoint", ep.name, "ep1") in result.bindings
    after = apply_plan(result, snapshot, keep=keep)
    assert sorted(r.id or "" for r in after.resources) == ["ep1", "vol0"]
    assert plan(desired, after).changes == ()


def test_keep_must_pick_exactly_one_copy_of_each_duplicated_object(
    desired: DesiredState,
) -> None:
    vol, ep = _live(desired)
    snapshot = Snapshot((replace(vol, id="vol0"), vol, ep, replace(ep, id="ep0")))
    for keep, named in [
        ({"vol1"}, "endpoint gpu-worker-staging (ep0, ep1)"),
        ({"vol1", "vol0", "ep0"}, "volume pk-gpu-worker-staging-models (vol0, vol1)"),
        ({"vol1", "nope"}, "endpoint gpu-worker-staging (ep0, ep1)"),  # the copies first
    ]:
        with pytest.raises(DeployError) as err:
            plan(desired, snapshot, keep=frozenset(keep))
        assert err.value.message.endswith(f"exist more than once: {named}"), keep


def test_a_duplicate_volume_alone_is_refused_and_keep_deletes_only_the_twin(
    desired: DesiredState,
) -> None:
    vol, ep = _live(desired)
    snapshot = Snapshot((replace(vol, id="vol0"), vol, ep))
    with pytest.raises(DeployError, match=r"volume pk-gpu-worker-staging-models \(vol0, vol1\)"):
        plan(desired, snapshot)
    result = plan(desired, snapshot, keep=frozenset({"vol1"}))
    (change,) = result.changes
    assert isinstance(change, Delete) and change.resource.id == "vol0"
    assert change.reason == "duplicate of vol1 (--keep)"


def test_keep_naming_an_id_podkit_does_not_own_here_is_refused(desired: DesiredState) -> None:
    vol, ep = _live(desired)
    foreign = replace(ep, id="ep7", name="someone-else", owner=None)
    for snapshot, keep, listing in [
        (Snapshot((vol, ep, foreign)), {"vol1", "ep7", "elsewhere"}, "there are none"),
        (Snapshot((replace(vol, id="vol0"), vol, ep)), {"vol1", "typo"},
         "the duplicated ids are vol0, vol1"),
    ]:  # fmt: skip
        with pytest.raises(DeployError) as err:
            plan(desired, snapshot, keep=frozenset(keep))
        stray = ", ".join(repr(k) for k in sorted(keep - {"vol1"}))
        assert err.value.message == (
            f"--keep {stray} names no duplicated object of gpu-worker/staging ({listing})"
        )


def test_keep_naming_objects_no_longer_duplicated_changes_nothing(desired: DesiredState) -> None:
    """The same `apply --keep ID` run again once the other copies are gone (a CI rerun)."""
    vol, ep = _live(desired)
    assert plan(desired, Snapshot((vol, ep)), keep=frozenset({"vol1", "ep1"})).changes == ()


@pytest.mark.parametrize(("remote_gb", "action"), [(49, "update"), (50, None), (51, "refuse")])
def test_volume_size_at_the_boundary(
    desired: DesiredState, remote_gb: int, action: str | None
) -> None:
    """podkit.toml asks for 50 GB: 49 grows by one, 50 is current, 51 would shrink by one."""
    vol, ep = _live(desired)
    snapshot = Snapshot((_with(vol, size_gb=remote_gb), ep))
    if action == "refuse":
        with pytest.raises(DeployError, match=r"is 51 GB; podkit.toml asks for 50 GB") as err:
            plan(desired, snapshot)
        assert err.value.hint == "set the volume size to 51 or more"
        return
    changes = plan(desired, snapshot).changes
    assert [c.action for c in changes] == ([action] if action else [])
    if action:
        assert isinstance(changes[0], Update)
        assert [(c.field, c.old, c.new) for c in changes[0].changes] == [("size_gb", 49, 50)]


def test_a_volume_with_no_size_on_record_grows_to_the_desired_size(desired: DesiredState) -> None:
    vol, ep = _live(desired)
    sizeless = replace(vol, fields={"data_center": "EU-RO-1"})
    (change,) = plan(desired, Snapshot((sizeless, ep))).changes
    assert isinstance(change, Update)


@pytest.mark.parametrize("owner", [None, "other/staging"])
def test_a_foreign_object_beside_an_owned_one_is_left_alone(
    desired: DesiredState, owner: str | None
) -> None:
    vol, ep = _live(desired)
    stranger = _with(replace(ep, id="ep0", owner=owner), **{"workers.max": 9})
    snapshot = Snapshot((vol, stranger, ep))
    result = plan(desired, snapshot)
    assert result.changes == ()
    assert ("endpoint", ep.name, "ep1") in result.bindings


@pytest.mark.parametrize("owners", [(None,), ("other/staging",), (None, "other/staging")])
def test_only_foreign_objects_of_that_name_are_refused_naming_one(
    desired: DesiredState, owners: tuple[str | None, ...]
) -> None:
    vol, ep = _live(desired)
    strangers = tuple(replace(ep, id=f"ep{i}", owner=o) for i, o in enumerate(owners))
    with pytest.raises(DeployError, match=r"endpoint named 'gpu-worker-staging' \(ep0\)") as err:
        plan(desired, Snapshot((vol, *strangers)))
    said = {None: "no PODKIT_OWNER marker", "other/staging": "its PODKIT_OWNER is 'other/staging'"}
    assert f"not owned by gpu-worker/staging ({said[owners[0]]})" in str(err.value)
    assert err.value.hint == (
        "rename or delete that object in the RunPod console, or change the name"
    )


def test_a_foreign_volume_is_named_by_its_missing_prefix(desired: DesiredState) -> None:
    vol, ep = _live(desired)
    named = r"a volume named 'pk-gpu-worker-staging-models' \(vol1\) .*\(no name prefix marker\)"
    with pytest.raises(DeployError, match=named):
        plan(desired, Snapshot((replace(vol, owner=None), ep)))


def test_a_field_is_secret_when_either_side_marks_it(desired: DesiredState) -> None:
    vol, ep = _live(desired)
    marked = replace(
        _with(ep, **{"env.OLD_TOKEN": "v1", "workers.max": 9}),
        secret_fields=frozenset({"env.OLD_TOKEN"}),
    )
    (change,) = plan(desired, Snapshot((vol, marked))).changes
    flags = {c.field: c.secret for c in change.changes}
    assert flags == {"env.OLD_TOKEN": True, "workers.max": False}


def test_a_moved_volume_is_refused_with_the_way_out(desired: DesiredState) -> None:
    vol, ep = _live(desired)
    with pytest.raises(DeployError, match=r"is in US-TX-3; podkit.toml asks for EU-RO-1") as err:
        plan(desired, Snapshot((_with(vol, data_center="US-TX-3"), ep)))
    assert err.value.hint == (
        "keep the datacenter, or give the volume a new name (its data is not copied)"
    )


def test_destroy_says_why_and_notes_only_the_volumes_it_keeps(desired: DesiredState) -> None:
    vol, ep = _live(desired)
    snapshot = Snapshot((vol, ep))
    keep = plan_destroy(desired.scope, "v2", snapshot, volumes=False)
    assert [(c.resource.id, c.reason) for c in keep.changes if isinstance(c, Delete)] == [
        ("ep1", "destroy")
    ]
    assert keep.notes == (f"network volume {vol.name} (vol1) kept; add --volumes to delete it",)
    everything = plan_destroy(desired.scope, "v2", snapshot, volumes=True)
    assert [c.resource.id for c in everything.changes] == ["ep1", "vol1"]
    assert everything.notes == ()
    assert (everything.scope, everything.api) == (desired.scope, "v2")


def test_a_field_is_secret_when_one_side_marks_it_or_one_value_is_sensitive() -> None:
    """Marked on one side only (a plain name and value), or an inline secret only before
    (removed) or only after (added): each change is masked."""
    desired = Resource(
        "endpoint",
        "e",
        {"env.NEW_TOKEN": "abc", "env.LABEL_A": "x", "env.LABEL_B": "y", "workers.max": 9},
        secret_fields=frozenset({"env.LABEL_A"}),
    )
    remote = Resource(
        "endpoint",
        "e",
        {"env.OLD_TOKEN": "abc", "env.LABEL_A": "x0", "env.LABEL_B": "y0", "workers.max": 1},
        secret_fields=frozenset({"env.LABEL_B"}),
    )
    flags = {c.field: c.secret for c in diff_fields(desired, remote)}
    assert flags == {
        "env.LABEL_A": True,
        "env.LABEL_B": True,
        "env.NEW_TOKEN": True,
        "env.OLD_TOKEN": True,
        "workers.max": False,
    }


def test_an_emptied_list_is_a_change_and_lists_compare_by_value() -> None:
    desired = Resource("endpoint", "e", {"ports": None, "args": ("a", "b"), "env.X": "ab"})
    remote = Resource("endpoint", "e", {"ports": [], "args": ["a", "b"], "env.X": ["a", "b"]})
    changes = {c.field: (c.old, c.new) for c in diff_fields(desired, remote)}
    assert changes == {"ports": ([], None), "env.X": (["a", "b"], "ab")}


def test_a_volume_still_in_podkit_toml_gets_no_note_and_a_dropped_one_is_named(
    desired: DesiredState, catalog: list[GpuType]
) -> None:
    vol, ep = _live(desired)
    assert plan(desired, Snapshot((vol, ep))).notes == ()
    no_volume = build_desired(deployment(volume=None), api="v2", catalog=catalog)
    dropped = plan(no_volume, Snapshot((vol, _with(ep, volume=None))))
    assert dropped.notes == (
        f"network volume {vol.name} (vol1) is no longer in podkit.toml; kept "
        "(remove it with `podkit destroy --volumes`)",
    )


def test_the_cost_before_is_what_this_project_runs_now(catalog: list[GpuType]) -> None:
    desired = build_desired(
        deployment(endpoint={"gpu_types": ["NVIDIA GeForce RTX 4090"], "workers_min": 2,
                             "workers_max": 3, "execution_timeout": 3600.0}),
        api="v2", catalog=catalog,
    )  # fmt: skip
    vol, ep = _live(desired)
    now = (_with(vol, size_gb=40), _with(ep, **{"workers.min": 1}))
    # Another project's objects come first in the snapshot and never count.
    theirs = tuple(replace(r, id=f"x{r.id}", owner="other/staging") for r in now)
    result = plan(desired, Snapshot((*theirs, *now)), prices={"ADA_24": 1.0})
    assert result.cost is not None
    assert (result.cost.hourly_before, result.cost.hourly_after) == (1.0, 2.0)
    assert result.cost.volume_monthly_before == pytest.approx(40 * 0.07)
    assert result.cost.volume_monthly_after == pytest.approx(50 * 0.07)
    assert plan(desired, Snapshot(now)).cost is None


def test_duplicate_deletes_are_ordered_by_id_whatever_their_distance(
    desired: DesiredState,
) -> None:
    vol, ep = _live(desired)
    best = replace(ep, id="ep5")
    near = _with(replace(ep, id="ep9"), **{"workers.max": 7})
    far = _with(replace(ep, id="ep1"), **{"workers.max": 7, "image": "old:1"})
    snapshot = Snapshot((vol, near, far, best))
    with pytest.raises(DeployError, match=r"endpoint gpu-worker-staging \(ep1, ep5, ep9\)"):
        plan(desired, snapshot)
    result = plan(desired, snapshot, keep=frozenset({"ep5"}))
    assert [c.resource.id for c in result.changes] == ["ep1", "ep9"]
    for change in result.changes:
        assert isinstance(change, Delete) and change.reason == "duplicate of ep5 (--keep)"
    assert (result.api, result.desired, result.scope) == ("v2", desired, desired.scope)
    # Keeping the farthest copy converges it first, then lets the others go.
    result = plan(desired, snapshot, keep=frozenset({"ep1"}))
    assert [(c.action, c.resource.id) for c in result.changes] == [
        ("update", None),
        ("delete", "ep5"),
        ("delete", "ep9"),
    ]
    assert isinstance(result.changes[0], Update) and result.changes[0].remote_id == "ep1"


def _attached(ep: Resource, **refs: str) -> Resource:
    return replace(ep, refs=refs)


def test_keeping_the_copy_the_endpoint_does_not_use_moves_it_before_the_delete(
    desired: DesiredState,
) -> None:
    vol, ep = _live(desired)
    ep = _attached(ep, volume="vol1")
    snapshot = Snapshot((replace(vol, id="vol0"), vol, ep))
    keep = frozenset({"vol0"})
    result = plan(desired, snapshot, keep=keep)
    assert [(c.action, c.resource.kind) for c in result.changes] == [
        ("update", "endpoint"),
        ("delete", "volume"),
    ]
    move, delete = result.changes
    assert isinstance(move, Update) and move.remote_id == "ep1"
    assert [(c.field, c.old, c.new) for c in move.changes] == [("volume.id", "vol1", "vol0")]
    assert delete.resource.id == "vol1"
    assert (
        "endpoint gpu-worker-staging (ep1) moves from volume vol1 to the kept copy vol0 "
        "before vol1 is deleted"
    ) in result.notes
    after = apply_plan(result, snapshot, keep=keep)
    assert plan(desired, after).changes == ()


def test_keeping_the_copy_the_endpoint_uses_only_deletes_the_other(
    desired: DesiredState,
) -> None:
    vol, ep = _live(desired)
    snapshot = Snapshot((replace(vol, id="vol0"), vol, _attached(ep, volume="vol1")))
    result = plan(desired, snapshot, keep=frozenset({"vol1"}))
    assert [(c.action, c.resource.id) for c in result.changes] == [("delete", "vol0")]
    assert not any("moves" in note for note in result.notes)


def test_a_move_rides_along_with_the_endpoints_other_changes(desired: DesiredState) -> None:
    vol, ep = _live(desired)
    ep = _attached(_with(ep, **{"workers.max": 9}), volume="vol1")
    snapshot = Snapshot((replace(vol, id="vol0"), vol, ep))
    move = plan(desired, snapshot, keep=frozenset({"vol0"})).changes[0]
    assert isinstance(move, Update)
    assert [c.field for c in move.changes] == ["workers.max", "volume.id"]


def test_a_copy_used_by_an_endpoint_podkit_does_not_own_is_never_deleted(
    desired: DesiredState,
) -> None:
    vol, ep = _live(desired)
    unmarked = Resource("endpoint", "their-worker", {}, id="ep7", refs={"volume": "vol0"})
    theirs = replace(unmarked, name="other-worker", id="ep8", owner="other/staging")
    snapshot = Snapshot(
        (replace(vol, id="vol0"), vol, _attached(ep, volume="vol1"), unmarked, theirs)
    )
    with pytest.raises(DeployError) as err:
        plan(desired, snapshot, keep=frozenset({"vol1"}))
    assert err.value.message == (
        "volume pk-gpu-worker-staging-models (vol0) is used by endpoint(s) their-worker (ep7), "
        "other-worker (ep8), not owned by gpu-worker/staging; deleting it as a duplicate would "
        "break them"
    )
    assert err.value.hint == (
        "keep that copy (`podkit apply --keep vol0`), or move those endpoints to the other "
        "copy in the RunPod console"
    )
    result = plan(desired, snapshot, keep=frozenset({"vol0"}))  # keep theirs: podkit's moves
    assert [(c.action, c.resource.id) for c in result.changes] == [
        ("update", None),
        ("delete", "vol1"),
    ]


def test_a_v1_endpoint_moves_to_the_kept_template_before_the_other_goes(
    catalog: list[GpuType],
) -> None:
    desired = build_desired(deployment(), api="v1", catalog=catalog)
    owner = desired.scope.owner
    vol, tpl, ep = (replace(r, id=f"{r.kind}1", owner=owner) for r in desired.resources)
    ep = _attached(ep, volume="volume1", template="template0")
    snapshot = Snapshot((vol, replace(tpl, id="template0"), tpl, ep))
    keep = frozenset({"template1"})
    result = plan(desired, snapshot, keep=keep)
    assert [(c.action, c.resource.kind) for c in result.changes] == [
        ("update", "endpoint"),
        ("delete", "template"),
    ]
    move = result.changes[0]
    assert isinstance(move, Update)
    assert [(c.field, c.old, c.new) for c in move.changes] == [
        ("template.id", "template0", "template1")
    ]
    after = apply_plan(result, snapshot, keep=keep)
    assert plan(desired, after).changes == ()


def test_an_endpoint_on_a_same_named_template_podkit_does_not_own_moves_and_it_stays(
    catalog: list[GpuType],
) -> None:
    """The note names the move without a delete: only podkit's own copies are deleted."""
    desired = build_desired(deployment(), api="v1", catalog=catalog)
    owner = desired.scope.owner
    vol, tpl, ep = (replace(r, id=f"{r.kind}1", owner=owner) for r in desired.resources)
    unmarked = replace(tpl, id="template0", owner=None)
    ep = _attached(ep, volume="volume1", template="template0")
    snapshot = Snapshot((vol, unmarked, tpl, ep))
    result = plan(desired, snapshot)
    (move,) = result.changes
    assert isinstance(move, Update) and move.remote_id == "endpoint1"
    assert [(c.field, c.old, c.new) for c in move.changes] == [
        ("template.id", "template0", "template1")
    ]
    moved = "moves from template template0 to the kept copy template1"
    assert result.notes == (f"endpoint {ep.name} (endpoint1) {moved}",)
    after = apply_plan(result, snapshot)
    assert unmarked in after.resources
    assert plan(desired, after).changes == ()
