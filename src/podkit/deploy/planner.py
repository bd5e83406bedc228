"""The pure planner: `(desired, snapshot) -> Plan`. No client, no I/O.

Rules:
- a desired object is matched by its podkit name; a same-named object without podkit's
  ownership marker is never touched (the plan refuses, naming it);
- only fields the desired state sets are compared (the API omits some, e.g. idle timeout
  with request-count scaling), except `env.*`, where an extra remote key is a removal;
- immutable fields (endpoint type, volume datacenter) make an endpoint a replace and a
  volume an error; a volume never shrinks;
- owned objects that are no longer desired are deleted, except volumes (kept, noted);
- two or more owned objects of one desired name (from concurrent applies before the deploy
  lock, or a lost create answer) are never adopted silently: the plan fails naming every copy,
  and `--keep ID` picks the one to keep and deletes the others; a `--keep` id that is not
  one of those copies is refused (a typo must not pass silently);
- references are compared by id too: an endpoint attached to a copy that `--keep` lets go
  is moved onto the kept copy (`volume.id`/`template.id` old -> new) before that copy is
  deleted; a copy that an endpoint podkit does not own uses is never deleted (refused);
- order: deletes that make room for a replacement, then creates/updates volume -> template
  -> endpoint, then the remaining deletes endpoint -> template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from podkit.deploy.cost import always_on_hourly, volume_monthly
from podkit.deploy.model import KIND_ORDER, DesiredState, Resource, Scope, Snapshot
from podkit.deploy.plan import Change, CostEstimate, Create, Delete, FieldChange, Plan, Update
from podkit.deploy.sensitive import is_sensitive
from podkit.errors import DeployError

IMMUTABLE = {"endpoint": {"type"}, "volume": {"data_center"}}
# Fields that name another object by its podkit name; each is that object's kind.
REFERENCES = ("volume", "template")
Bound = Mapping[tuple[str, str], str]  # (kind, name) -> the id the plan converges onto


def diff_fields(desired: Resource, remote: Resource) -> tuple[FieldChange, ...]:
    """Field-level differences; secret fields flagged so renderers mask them."""
    keys = set(desired.fields) - desired.write_only
    keys |= {k for k in remote.fields if k.startswith("env.")}
    out = []
    for key in sorted(keys):
        new, old = desired.fields.get(key), remote.fields.get(key)
        if _same(old, new):
            continue
        secret = key in desired.secret_fields or key in remote.secret_fields
        secret = secret or is_sensitive(key, old) or is_sensitive(key, new)
        out.append(FieldChange(key, old, new, secret))
    return tuple(out)


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, list | tuple) and isinstance(new, list | tuple):
        return list(old) == list(new)
    return bool(old == new)


def _check_volume(desired: Resource, remote: Resource) -> None:
    old_size = int(remote.fields.get("size_gb", 0) or 0)
    new_size = int(desired.fields.get("size_gb", 0) or 0)
    if new_size < old_size:
        raise DeployError(
            f"network volume {remote.name} ({remote.id}) is {old_size} GB; podkit.toml asks "
            f"for {new_size} GB, and volumes can only grow",
            hint=f"set the volume size to {old_size} or more",
        )
    old_dc, new_dc = remote.fields.get("data_center"), desired.fields.get("data_center")
    if old_dc != new_dc:
        raise DeployError(
            f"network volume {remote.name} ({remote.id}) is in {old_dc}; podkit.toml asks for "
            f"{new_dc}, and a volume cannot move",
            hint="keep the datacenter, or give the volume a new name (its data is not copied)",
        )


def _foreign(candidates: list[Resource], scope: Scope) -> None:
    if candidates and all(c.owner != scope.owner for c in candidates):
        found = candidates[0]
        marker = "name prefix" if found.kind == "volume" else "PODKIT_OWNER"
        why = f"its {marker} is {found.owner[:80]!r}" if found.owner else f"no {marker} marker"
        raise DeployError(
            f"a {found.kind} named {found.name!r} ({found.id}) exists but is not owned by "
            f"{scope.owner} ({why}); podkit will not take it over",
            hint="rename or delete that object in the RunPod console, or change the name",
        )


def _match(
    desired: Resource, snapshot: Snapshot, scope: Scope, keep: frozenset[str]
) -> tuple[Resource | None, list[Resource]]:
    """The owned remote object to converge onto, and the duplicates `--keep` lets go."""
    candidates = snapshot.named(desired.kind, desired.name)
    _foreign(candidates, scope)
    owned = [c for c in candidates if c.owner == scope.owner]
    if len(owned) < 2:
        return (owned[0] if owned else None), []
    kept = [c for c in owned if c.id in keep]
    if len(kept) != 1:
        return None, owned  # reported by `_duplicates`
    return kept[0], [c for c in owned if c is not kept[0]]


def _duplicates(desired: DesiredState, snapshot: Snapshot, keep: frozenset[str]) -> None:
    """Fail on every desired name that two or more owned objects carry, unless one is kept."""
    groups = []
    for resource in sorted(desired.resources, key=lambda r: r.key):
        remote, others = _match(resource, snapshot, desired.scope, keep)
        if remote is None and others:
            ids = ", ".join(c.id or "?" for c in others)
            groups.append(f"{resource.kind} {resource.name} ({ids})")
    if groups:
        raise DeployError(
            f"{len(groups)} owned object(s) of {desired.scope.owner} exist more than once: "
            + "; ".join(groups),
            hint="keep one of each with `podkit apply --keep ID` (repeatable; it deletes the "
            "other copies, a volume's data with it, and needs --force), or delete the extra "
            "copies in the RunPod console",
        )


def _stray_keeps(desired: DesiredState, snapshot: Snapshot, keep: frozenset[str]) -> None:
    """Fail on a `--keep` id that is no owned copy of a desired object (a typo, another
    project's id). The id of an object that is no longer duplicated is accepted, so the same
    command runs again once the other copies are gone."""
    owned: list[str] = []
    copies: list[str] = []
    for resource in sorted(desired.resources, key=lambda r: r.key):
        ids = [
            c.id or "?"
            for c in snapshot.named(resource.kind, resource.name)
            if c.owner == desired.scope.owner
        ]
        owned.extend(ids)
        copies.extend(ids if len(ids) > 1 else [])
    stray = sorted(keep.difference(owned))
    if stray:
        listing = (
            f"the duplicated ids are {', '.join(sorted(copies))}" if copies else "there are none"
        )
        raise DeployError(
            f"--keep {', '.join(repr(s) for s in stray)} names no duplicated object of "
            f"{desired.scope.owner} ({listing})",
            hint="give --keep only the id of one copy of a duplicated object (`podkit plan` "
            "names the copies), or leave --keep out",
        )


def _in_use_elsewhere(desired: DesiredState, snapshot: Snapshot, doomed: list[Resource]) -> None:
    """Fail if a copy `--keep` would delete is used by an endpoint podkit cannot move."""
    for copy in doomed:
        users = [
            f"{ep.name} ({ep.id})"
            for ep in snapshot.of_kind("endpoint")
            if ep.owner != desired.scope.owner and ep.refs.get(copy.kind) == copy.id
        ]
        if users:
            raise DeployError(
                f"{copy.kind} {copy.name} ({copy.id}) is used by endpoint(s) "
                f"{', '.join(users)}, not owned by {desired.scope.owner}; deleting it as a "
                "duplicate would break them",
                hint=f"keep that copy (`podkit apply --keep {copy.id}`), or move those "
                "endpoints to the other copy in the RunPod console",
            )


def _moved_references(desired: Resource, remote: Resource, bound: Bound) -> list[FieldChange]:
    """References whose name already matches but whose id is not the copy the plan keeps:
    the endpoint moves onto the kept copy (the other is deleted after this update)."""
    moves = []
    for kind in REFERENCES:
        name, old_id = desired.fields.get(kind), remote.refs.get(kind)
        new_id = bound.get((kind, name)) if name else None
        if remote.fields.get(kind) == name and old_id and new_id and old_id != new_id:
            moves.append(FieldChange(f"{kind}.id", old_id, new_id))
    return moves


def _converge(desired: Resource, remote: Resource | None, bound: Bound) -> list[Change]:
    if remote is None:
        return [Create(desired)]
    if desired.kind == "volume":
        _check_volume(desired, remote)
    changes = (*diff_fields(desired, remote), *_moved_references(desired, remote, bound))
    if not changes:
        return []
    immutable = IMMUTABLE.get(desired.kind, set())
    if any(c.field in immutable for c in changes):
        return [Delete(remote, reason="replaced: an immutable field changed"), Create(desired)]
    return [Update(desired, remote.id or "", changes)]


def _orphans(desired: DesiredState, snapshot: Snapshot, claimed: set[str]) -> list[Change]:
    wanted = {(r.kind, r.name) for r in desired.resources}
    out: list[Change] = []
    for remote in snapshot.owned(desired.scope):
        if remote.id in claimed or (remote.kind, remote.name) in wanted:
            continue
        if remote.kind == "volume":
            continue  # volumes hold data: only `podkit destroy --volumes` removes them
        out.append(Delete(remote))
    return out


def _volume_notes(desired: DesiredState, snapshot: Snapshot) -> list[str]:
    wanted = {r.name for r in desired.resources if r.kind == "volume"}
    return [
        f"network volume {r.name} ({r.id}) is no longer in podkit.toml; kept "
        "(remove it with `podkit destroy --volumes`)"
        for r in snapshot.owned(desired.scope)
        if r.kind == "volume" and r.name not in wanted
    ]


def _move_notes(changes: list[Change]) -> list[str]:
    deleted = {c.resource.id for c in changes if isinstance(c, Delete)}
    return [
        f"{c.resource.kind} {c.resource.name} ({c.remote_id}) moves from "
        f"{item.field.removesuffix('.id')} {item.old} to the kept copy {item.new}"
        + (f" before {item.old} is deleted" if item.old in deleted else "")
        for c in changes
        if isinstance(c, Update)
        for item in c.changes
        if item.field.endswith(".id")
    ]


def _order(changes: list[Change]) -> tuple[Change, ...]:
    def key(change: Change) -> tuple[int, int, str, str]:
        r = change.resource
        kind = KIND_ORDER[r.kind]
        if isinstance(change, Delete) and change.reason.startswith("replaced"):
            return (0, kind, r.name, r.id or "")
        if isinstance(change, Delete):
            return (2, -kind, r.name, r.id or "")
        return (1, kind, r.name, "")

    return tuple(sorted(changes, key=key))


def estimate(
    desired: DesiredState, snapshot: Snapshot, prices: Mapping[str, float] | None
) -> CostEstimate | None:
    if prices is None:
        return None
    owned = snapshot.owned(desired.scope)
    before_ep = next((r for r in owned if r.kind == "endpoint"), None)
    before_vol = next((r for r in owned if r.kind == "volume"), None)
    return CostEstimate(
        hourly_before=always_on_hourly(before_ep, prices),
        hourly_after=always_on_hourly(desired.get("endpoint"), prices),
        volume_monthly_before=volume_monthly(before_vol),
        volume_monthly_after=volume_monthly(desired.get("volume")),
    )


def plan(
    desired: DesiredState,
    snapshot: Snapshot,
    *,
    prices: Mapping[str, float] | None = None,
    notes: tuple[str, ...] = (),
    keep: frozenset[str] = frozenset(),
) -> Plan:
    """Compare the desired state with a snapshot of the remote; return the ordered Plan.

    `keep`: ids chosen (`--keep`) among duplicates of one owned object; the others go.
    """
    _duplicates(desired, snapshot, keep)
    matches = [
        (resource, *_match(resource, snapshot, desired.scope, keep))
        for resource in sorted(desired.resources, key=lambda r: r.key)
    ]
    _in_use_elsewhere(desired, snapshot, [dup for _, _, dups in matches for dup in dups])
    bound: dict[tuple[str, str], str] = {
        (r.kind, r.name): r.id or "" for _, r, _ in matches if r is not None
    }
    changes: list[Change] = []
    claimed: set[str] = set()
    for resource, remote, duplicates in matches:
        if remote is not None:
            claimed.add(remote.id or "")
        for dup in duplicates:
            claimed.add(dup.id or "")
            kept = remote.id if remote else "?"
            changes.append(Delete(dup, reason=f"duplicate of {kept} (--keep)"))
        changes.extend(_converge(resource, remote, bound))
    changes.extend(_orphans(desired, snapshot, claimed))
    _stray_keeps(desired, snapshot, keep)
    all_notes = (*notes, *_volume_notes(desired, snapshot), *_move_notes(changes))
    return Plan(
        scope=desired.scope,
        api=desired.api,
        changes=_order(changes),
        desired=desired,
        notes=all_notes,
        cost=estimate(desired, snapshot, prices),
        bindings=tuple((kind, name, rid) for (kind, name), rid in bound.items()),
    )


def plan_destroy(scope: Scope, api: str, snapshot: Snapshot, *, volumes: bool) -> Plan:
    """Delete every object owned by this project and environment (volumes only if asked)."""
    owned = snapshot.owned(scope)
    changes: list[Change] = [
        Delete(r, reason="destroy") for r in owned if r.kind != "volume" or volumes
    ]
    notes = (
        ()
        if volumes
        else tuple(
            f"network volume {r.name} ({r.id}) kept; add --volumes to delete it"
            for r in owned
            if r.kind == "volume"
        )
    )
    return Plan(scope=scope, api=api, changes=_order(changes), notes=notes)
