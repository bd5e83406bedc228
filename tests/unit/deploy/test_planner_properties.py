"""Properties of the pure planner over generated desired states and remote snapshots.

For every generated case (desired state, snapshot, `--keep` ids), `plan` either refuses with a
reason that really holds (a same-named object podkit does not own; an owned volume that would
shrink or move; two or more owned copies of one object with not exactly one of them kept; a
copy `--keep` lets go that an endpoint podkit does not own is attached to; a `--keep` id that
is no copy of a duplicated object), or returns a plan
that, played against the snapshot by `remote_model.apply_plan` (which checks ownership,
volumes and dependency order at every step, following references by id), converges: the
result holds exactly one owned copy of each desired object, matching it, and planning again
finds nothing to do.

The runs are derandomized and bounded so CI sees the same examples every time.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podkit.cli.deploy import _guard_deletes
from podkit.deploy.model import OWNER_ENV, DesiredState, Resource, Scope, Snapshot
from podkit.deploy.plan import Create, Delete, FieldChange, Plan, Update
from podkit.deploy.planner import diff_fields, plan
from podkit.errors import DeployError
from tests.unit.deploy.remote_model import REFERENCES, apply_plan

SCOPE = Scope("proj", "dev")
OTHER = Scope("other", "dev")
VOLUME_NAMES = (SCOPE.name("models"), SCOPE.name("data"))
TEMPLATE_NAMES = (SCOPE.name("tpl-aaaa"), SCOPE.name("tpl-bbbb"))
ENDPOINT_NAMES = ("ep-a", "ep-b")
DATACENTERS = ("EU-RO-1", "US-TX-3")

# Mutation runs (scripts/mutate.py) lower this: every surviving mutant runs every property.
EXAMPLES = int(os.environ.get("PODKIT_PROPERTY_EXAMPLES", "300"))
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _env_fields(owner: str | None) -> st.SearchStrategy[dict[str, Any]]:
    extra = st.dictionaries(
        st.sampled_from(["env.LOG_LEVEL", "env.HF_HOME", "env.DEBUG"]),
        st.sampled_from(["1", "info", "/runpod-volume/hf"]),
        max_size=2,
    )
    marker = {} if owner is None else {f"env.{OWNER_ENV}": owner}
    return extra.map(lambda env: env | marker)


def _volume(name: st.SearchStrategy[str]) -> st.SearchStrategy[Resource]:
    return st.builds(
        lambda n, size, dc: Resource("volume", n, {"size_gb": size, "data_center": dc}),
        name,
        st.integers(10, 14),
        st.sampled_from(DATACENTERS),
    )


def _template(name: st.SearchStrategy[str], owner: str | None) -> st.SearchStrategy[Resource]:
    return st.builds(
        lambda n, image, env: Resource("template", n, {"image": image, **env}),
        name,
        st.sampled_from(["img:1", "img:2"]),
        _env_fields(owner),
    )


@st.composite
def _endpoint(
    draw: st.DrawFn,
    api: str,
    volume: str | None,
    template: str | None,
    owner: str | None,
) -> Resource:
    fields: dict[str, Any] = {
        "workers.max": draw(st.integers(1, 3)),
        "timeout_ms": draw(st.sampled_from([60_000, 600_000])),
        "volume": volume,
    }
    write_only: frozenset[str] = frozenset()
    if api == "v1":
        fields["template"] = template
        fields["flashboot"] = draw(st.booleans())
        write_only = frozenset({"flashboot"})
    else:
        fields["type"] = draw(st.sampled_from(["QUEUE", "LOAD_BALANCER"]))
        fields["image"] = draw(st.sampled_from(["img:1", "img:2"]))
        fields |= draw(_env_fields(owner))
    name = draw(st.sampled_from(ENDPOINT_NAMES))
    return Resource("endpoint", name, fields, write_only=write_only)


@st.composite
def desired_states(draw: st.DrawFn) -> DesiredState:
    api = draw(st.sampled_from(["v1", "v2"]))
    resources: list[Resource] = []
    volume = draw(st.none() | _volume(st.sampled_from(VOLUME_NAMES)))
    if volume is not None:
        resources.append(volume)
    template = None
    if api == "v1":
        template = draw(_template(st.sampled_from(TEMPLATE_NAMES), SCOPE.owner))
        resources.append(template)
    volume_name = volume.name if volume else None
    template_name = template.name if template else None
    resources.append(draw(_endpoint(api, volume_name, template_name, SCOPE.owner)))
    return DesiredState(SCOPE, api, "img", tuple(resources))


@st.composite
def _remote(draw: st.DrawFn, api: str) -> Resource:
    owner = draw(st.sampled_from([SCOPE.owner, SCOPE.owner, OTHER.owner, None]))
    kind = draw(
        st.sampled_from(
            ["volume", "endpoint", "template"] if api == "v1" else ["volume", "endpoint"]
        )
    )
    if kind == "volume":
        base = draw(_volume(st.sampled_from((*VOLUME_NAMES, OTHER.name("models")))))
    elif kind == "template":
        base = draw(_template(st.sampled_from(TEMPLATE_NAMES), owner))
    else:
        volume = draw(st.none() | st.sampled_from(VOLUME_NAMES))
        # A v1 endpoint's owner is its template's: others' endpoints run others' templates.
        names = TEMPLATE_NAMES if owner == SCOPE.owner else (OTHER.name("tpl-cccc"),)
        template = draw(st.sampled_from(names))
        base = draw(_endpoint(api, volume, template, owner))
        base = Resource("endpoint", base.name, base.fields)  # as read back: no write-only
    return Resource(base.kind, base.name, base.fields, owner=owner)


Case = tuple[DesiredState, Snapshot, frozenset[str]]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    desired = draw(desired_states())
    remotes = draw(st.lists(_remote(desired.api), max_size=6))
    # Often start from (a perturbed copy of) the desired state itself, at times with a second
    # copy of an object (two concurrent applies, a create whose answer was lost), and at
    # times another project's endpoint attached to (a copy of) the desired volume.
    if draw(st.booleans()):
        remotes += [
            Resource(r.kind, r.name, _read_back(r), owner=SCOPE.owner)
            for r in desired.resources
            for _ in range(draw(st.sampled_from([0, 1, 1, 2])))
        ]
        volume = desired.get("volume")
        if volume is not None and draw(st.booleans()):
            remotes.append(Resource("endpoint", "ep-other", {"volume": volume.name}, owner=None))
    ids = draw(st.permutations(range(len(remotes))))
    objects = [
        Resource(r.kind, r.name, r.fields, id=f"r{i}", owner=r.owner)
        for i, r in zip(ids, remotes, strict=True)
    ]
    snapshot = Snapshot(tuple(draw(_attached(r, objects)) for r in objects))
    return desired, snapshot, draw(_keep(desired, snapshot))


@st.composite
def _attached(draw: st.DrawFn, resource: Resource, objects: list[Resource]) -> Resource:
    """An endpoint as read: each volume or template it names is one object of that name,
    by id (any copy); a name no object carries reads as the bare id it still holds."""
    if resource.kind != "endpoint":
        return resource
    fields, refs = dict(resource.fields), {}
    for kind in REFERENCES:
        name = fields.get(kind)
        if not name:
            continue
        copies = sorted(r.id or "" for r in objects if r.kind == kind and r.name == name)
        refs[kind] = draw(st.sampled_from(copies)) if copies else f"gone-{kind}"
        fields[kind] = name if copies else refs[kind]
    return replace(resource, fields=fields, refs=refs)


@st.composite
def _keep(draw: st.DrawFn, desired: DesiredState, snapshot: Snapshot) -> frozenset[str]:
    """`--keep` ids: per duplicated object none, one (most often) or two of its copies, and
    now and then an id of any object, duplicated or not (refused unless it is a copy)."""
    keep: set[str] = set()
    for copies in _duplicate_groups(desired, snapshot).values():
        how_many = draw(st.sampled_from([0, 1, 1, 1, 1, 1, 1, 2]))
        keep.update(draw(st.permutations(copies))[:how_many])
    if snapshot.resources and draw(st.booleans()):
        keep.add(draw(st.sampled_from(snapshot.resources)).id or "")
    return frozenset(keep)


def _owned_ids(snapshot: Snapshot, want: Resource) -> list[str]:
    return [r.id or "" for r in snapshot.named(want.kind, want.name) if r.owner == SCOPE.owner]


def _duplicate_groups(desired: DesiredState, snapshot: Snapshot) -> dict[Resource, list[str]]:
    """Each desired object that two or more owned remote objects carry -> their ids."""
    groups = {want: _owned_ids(snapshot, want) for want in desired.resources}
    return {want: ids for want, ids in groups.items() if len(ids) > 1}


def _unresolved(desired: DesiredState, snapshot: Snapshot, keep: frozenset[str]) -> list[str]:
    """The id lists of duplicated objects where `keep` does not name exactly one copy."""
    return [
        ", ".join(sorted(ids))
        for ids in _duplicate_groups(desired, snapshot).values()
        if len(keep.intersection(ids)) != 1
    ]


def _stray(desired: DesiredState, snapshot: Snapshot, keep: frozenset[str]) -> set[str]:
    """`--keep` ids that are no owned copy of a desired object (duplicated or not)."""
    owned = {rid for want in desired.resources for rid in _owned_ids(snapshot, want)}
    return set(keep) - owned


def _read_back(resource: Resource) -> dict[str, Any]:
    return {k: v for k, v in resource.fields.items() if k not in resource.write_only}


def _refusal_holds(
    error: DeployError, desired: DesiredState, snapshot: Snapshot, keep: frozenset[str]
) -> bool:
    """The planner refused: one of its six reasons must really be there."""
    text = str(error)
    if "names no duplicated object" in text:
        stray = _stray(desired, snapshot, keep)
        return bool(stray) and all(repr(rid) in text for rid in stray)
    unresolved = _unresolved(desired, snapshot, keep)
    if "exist more than once" in text and unresolved:
        return all(f"({ids})" in text for ids in unresolved)  # every copy is named
    if "would break them" in text:
        return any(f"({rid})" in text for rid in _used_by_others(desired, snapshot, keep))
    for want in desired.resources:
        named = snapshot.named(want.kind, want.name)
        owned = [r for r in named if r.owner == SCOPE.owner]
        if "not owned by" in text and named and not owned:
            return True
        if want.kind != "volume":
            continue
        if "can only grow" in text and any(
            r.fields["size_gb"] > want.fields["size_gb"] for r in owned
        ):
            return True
        if "cannot move" in text and any(
            r.fields["data_center"] != want.fields["data_center"] for r in owned
        ):
            return True
    return False


def _used_by_others(desired: DesiredState, snapshot: Snapshot, keep: frozenset[str]) -> set[str]:
    """Ids of unkept duplicates that an endpoint podkit does not own is attached to."""
    unkept = {rid for ids in _duplicate_groups(desired, snapshot).values() for rid in ids} - keep
    return {
        rid
        for ep in snapshot.of_kind("endpoint")
        if ep.owner != SCOPE.owner
        for rid in ep.refs.values()
        if rid in unkept
    }


def _must_refuse(desired: DesiredState, snapshot: Snapshot, keep: frozenset[str]) -> bool:
    """A same-named object exists and none of them is podkit's, podkit owns several and
    `keep` does not pick one, or a copy `keep` lets go is used by an endpoint podkit does
    not own, or a `keep` id is no copy at all: no plan may be made."""
    if _stray(desired, snapshot, keep):
        return True
    if _unresolved(desired, snapshot, keep) or _used_by_others(desired, snapshot, keep):
        return True
    for want in desired.resources:
        named = snapshot.named(want.kind, want.name)
        if named and all(r.owner != SCOPE.owner for r in named):
            return True
    return False


def _plan_or_refusal(case: Case) -> Plan | None:
    desired, snapshot, keep = case
    try:
        result = plan(desired, snapshot, keep=keep)
    except DeployError as error:
        assert _refusal_holds(error, desired, snapshot, keep), str(error)
        return None
    assert not _must_refuse(desired, snapshot, keep), "a foreign object or a duplicate adopted"
    return result


@PROPERTY_SETTINGS
@given(cases())
def test_applying_the_plan_converges_and_a_second_plan_is_empty(case: Case) -> None:
    desired, snapshot, keep = case
    first = _plan_or_refusal(case)
    if first is None:
        return
    after = apply_plan(first, snapshot, keep)
    duplicated = _duplicate_groups(desired, snapshot)
    for want in desired.resources:
        owned = [r for r in after.named(want.kind, want.name) if r.owner == SCOPE.owner]
        assert len(owned) == 1, f"{want.kind} {want.name}: {len(owned)} owned copies"
        assert not diff_fields(want, owned[0]), f"{want.kind} {want.name} differs"
        if want in duplicated:  # the kept copy, or (an endpoint) its replacement
            assert owned[0].id in keep or owned[0].id.startswith("new-")
            assert owned[0].id in keep or want.kind == "endpoint"
    second = plan(desired, after)
    assert second.changes == (), [f"{c.action} {c.resource.key}" for c in second.changes]


@PROPERTY_SETTINGS
@given(cases())
def test_objects_without_the_marker_are_never_touched(case: Case) -> None:
    _, snapshot, keep = case
    result = _plan_or_refusal(case)
    if result is None:
        return
    foreign = {r.id for r in snapshot.resources if r.owner != SCOPE.owner}
    for change in result.changes:
        if isinstance(change, Delete):
            assert change.resource.id not in foreign
            assert change.resource.owner == SCOPE.owner
        if isinstance(change, Update):
            assert change.remote_id not in foreign
    after = apply_plan(result, snapshot, keep)
    assert {r for r in snapshot.resources if r.id in foreign} <= set(after.resources)


@PROPERTY_SETTINGS
@given(cases())
def test_volumes_never_shrink_and_are_deleted_only_as_an_unkept_duplicate(case: Case) -> None:
    """Without `--keep` no volume is ever deleted; with it, only an owned copy of a desired
    volume whose other copy `--keep` names, and the apply then needs `--force`."""
    desired, snapshot, keep = case
    result = _plan_or_refusal(case)
    if result is None:
        return
    duplicated = {want.name: ids for want, ids in _duplicate_groups(desired, snapshot).items()}
    deleted = {c.resource.id for c in result.changes if isinstance(c, Delete)}
    for change in result.changes:
        if isinstance(change, Delete) and change.resource.kind == "volume":
            copies = duplicated.get(change.resource.name, [])
            (kept,) = keep.intersection(copies)
            assert change.resource.id in copies and change.resource.id != kept
            assert change.reason == f"duplicate of {kept} (--keep)"
    if any(c.action == "delete" and c.resource.kind != "template" for c in result.changes):
        with pytest.raises(DeployError, match="the plan deletes"):
            _guard_deletes(result, force=False)
    after = {r.id: r for r in apply_plan(result, snapshot, keep).resources}
    for before in snapshot.resources:
        if before.kind != "volume":
            continue
        if before.id in after:
            assert after[before.id].fields["size_gb"] >= before.fields["size_gb"]
        else:
            assert before.id in deleted and keep, f"volume {before.id} gone"


@PROPERTY_SETTINGS
@given(cases())
def test_the_order_of_changes_respects_dependencies(case: Case) -> None:
    """apply_plan checks references at each step; here also: a replacement's delete comes
    before its create, and the order does not depend on the order of the inputs."""
    desired, snapshot, keep = case
    result = _plan_or_refusal(case)
    if result is None:
        return
    apply_plan(result, snapshot, keep)
    seen_create: set[tuple[int, str]] = set()
    for change in result.changes:
        if isinstance(change, Create):
            seen_create.add(change.resource.key)
        elif isinstance(change, Delete) and change.reason.startswith("replaced"):
            assert change.resource.key not in seen_create, "replacement created before delete"
    flipped = DesiredState(SCOPE, desired.api, desired.image, desired.resources[::-1])
    reordered = Snapshot(snapshot.resources[::-1])
    assert plan(flipped, reordered, keep=keep).changes == result.changes


def test_the_properties_reach_every_kind_of_change() -> None:
    """The generators are not vacuous: the examples include each action and each refusal."""
    actions: set[str] = set()
    refusals: set[str] = set()

    @settings(max_examples=300, derandomize=True, deadline=None, database=None)
    @given(cases())
    def collect(case: Case) -> None:
        desired, snapshot, keep = case
        try:
            result = plan(desired, snapshot, keep=keep)
        except DeployError as error:
            reasons = ("would break", "not owned", "grow", "cannot move", "more than once")
            reasons += ("no duplicated object",)
            refusals.add(next(w for w in reasons if w in str(error)))
            return
        actions.update(_kind_of_change(c) for c in result.changes)
        actions.update(move for c in result.changes for move in _moves(c))
        if not result.changes:
            actions.add("none")

    collect()
    assert actions >= {
        "create", "update", "delete", "replace", "none",
        "duplicate endpoint", "duplicate template", "duplicate volume",
        "move to the kept volume", "move to the kept template",
    }  # fmt: skip
    assert refusals == {
        "not owned", "grow", "cannot move", "more than once", "would break",
        "no duplicated object",
    }  # fmt: skip


def _kind_of_change(change: Create | Update | Delete) -> str:
    if isinstance(change, Delete) and change.reason.startswith("replaced"):
        return "replace"
    if isinstance(change, Delete) and change.reason.startswith("duplicate"):
        return f"duplicate {change.resource.kind}"
    return change.action


def _moves(change: Create | Update | Delete) -> set[str]:
    """An endpoint moved onto the kept copy of a duplicated volume or template."""
    moved = {c.field.removesuffix(".id") for c in change.changes if c.field.endswith(".id")}
    return {f"move to the kept {kind}" for kind in moved & {"volume", "template"}}


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_the_remote_model_refuses_what_the_planner_must_never_do(api: str) -> None:
    """The checker itself catches each broken rule (so a pass above means something)."""
    vol = Resource("volume", VOLUME_NAMES[0], {"size_gb": 20}, id="v1", owner=SCOPE.owner)
    stranger = Resource("endpoint", "ep-a", {}, id="e1", owner=OTHER.owner)
    snapshot = Snapshot((vol, stranger))
    bad = [
        Delete(vol),
        Delete(stranger),
        Update(
            Resource("volume", vol.name, {"size_gb": 19}),
            "v1",
            diff_fields(Resource("volume", vol.name, {"size_gb": 19}), vol),
        ),
        Create(Resource("endpoint", "ep-b", {"volume": VOLUME_NAMES[1]})),
    ]
    for change in bad:
        broken = Plan(scope=SCOPE, api=api, changes=(change,))
        with pytest.raises(AssertionError):
            apply_plan(broken, snapshot)


def test_the_remote_model_lets_a_volume_go_only_as_a_duplicate_of_a_kept_copy() -> None:
    vol = Resource("volume", VOLUME_NAMES[0], {"size_gb": 20}, id="v1", owner=SCOPE.owner)
    twin = Resource("volume", VOLUME_NAMES[0], {"size_gb": 20}, id="v2", owner=SCOPE.owner)
    snapshot = Snapshot((vol, twin))
    dedupe = Plan(scope=SCOPE, api="v2", changes=(Delete(twin, reason="duplicate of v1 (--keep)"),))
    assert [r.id for r in apply_plan(dedupe, snapshot, frozenset({"v1"})).resources] == ["v1"]
    for keep in (frozenset(), frozenset({"v2"}), frozenset({"v1", "v2"})):
        with pytest.raises(AssertionError):
            apply_plan(dedupe, snapshot, keep)
    orphan = Plan(scope=SCOPE, api="v2", changes=(Delete(twin),))
    with pytest.raises(AssertionError, match=r"volume .* deleted"):
        apply_plan(orphan, snapshot, frozenset({"v1"}))
    both = Plan(
        scope=SCOPE,
        api="v2",
        changes=(Delete(vol, reason="duplicate"), Delete(twin, reason="duplicate")),
    )
    with pytest.raises(AssertionError):
        apply_plan(both, snapshot, frozenset({"v1"}))


def test_the_remote_model_follows_references_by_id() -> None:
    """Deleting the copy an endpoint is attached to fails even though a twin of that name
    is there; moving the endpoint onto the kept copy first passes."""
    vol = Resource("volume", VOLUME_NAMES[0], {"size_gb": 20}, id="v1", owner=SCOPE.owner)
    twin = replace(vol, id="v2")
    ep = Resource(
        "endpoint", "ep-a", {"volume": vol.name}, id="e1", owner=SCOPE.owner, refs={"volume": "v1"}
    )
    snapshot, keep = Snapshot((vol, twin, ep)), frozenset({"v2"})
    bindings = (("volume", vol.name, "v2"), ("endpoint", "ep-a", "e1"))
    dedupe = Delete(vol, reason="duplicate of v2 (--keep)")
    unmoved = Plan(scope=SCOPE, api="v2", changes=(dedupe,), bindings=bindings)
    with pytest.raises(AssertionError, match=r"deleted while \['e1'\] use it"):
        apply_plan(unmoved, snapshot, keep)
    move = Update(ep, "e1", (FieldChange("volume.id", "v1", "v2"),))
    moved = Plan(scope=SCOPE, api="v2", changes=(move, dedupe), bindings=bindings)
    after = apply_plan(moved, snapshot, keep)
    assert [(r.id, dict(r.refs)) for r in after.resources] == [
        ("e1", {"volume": "v2"}),
        ("v2", {}),
    ]
    wrong = Update(ep, "e1", (FieldChange("volume.id", "v1", "v9"),))
    with pytest.raises(AssertionError, match="the move sends v2"):
        apply_plan(Plan(scope=SCOPE, api="v2", changes=(wrong,), bindings=bindings), snapshot, keep)
