"""An in-memory remote that a Plan can be applied to, checking every rule on the way.

`apply_plan(plan, snapshot)` plays the plan's changes in order against a copy of the
snapshot, the way the executor would against the API, and fails (AssertionError) the moment
a change breaks a rule the planner promises:

- only objects carrying the scope's ownership marker are updated or deleted;
- a network volume never shrinks and is never deleted, except as a duplicate when `keep`
  names another owned copy of it (`podkit apply --keep ID`) that is there; deleting a
  duplicate never removes a kept copy, nor the last owned copy of its name;
- fields the API cannot change in place (endpoint type, volume datacenter) are never updated;
- a change never refers to something that is not there at that moment: an endpoint's
  volume and template exist before the endpoint is created or updated onto them, and a
  template or volume is not deleted while an endpoint still uses it.

References are followed by id, as on the platform: an endpoint names its volume and template
in `fields` (by podkit name) and holds their ids in `refs`. Writing a reference resolves the
name the way the executor does (the plan's bindings, then what the plan created), so two
copies of one name are told apart: an endpoint attached to a duplicate that `--keep` lets go
must be moved to the kept copy before that copy is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from podkit.deploy.model import Resource, Scope, Snapshot
from podkit.deploy.plan import Create, Delete, Plan, Update

# Endpoint fields that name another object (by its podkit name); each is that object's kind.
REFERENCES = ("volume", "template")
# What the API refuses to change in place (an endpoint's type, a volume's datacenter).
IMMUTABLE = {"endpoint": {"type"}, "volume": {"data_center"}}


@dataclass
class RemoteModel:
    """A mutable copy of a snapshot; ids of created objects are `new-<n>`."""

    scope: Scope
    objects: dict[str, Resource] = field(default_factory=dict)
    created: int = 0
    keep: frozenset[str] = frozenset()
    # (kind, name) -> id, as the executor resolves names: the plan's bindings, then creates.
    ids: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def of(
        cls, snapshot: Snapshot, scope: Scope, keep: frozenset[str] = frozenset()
    ) -> RemoteModel:
        objects = {r.id or "": r for r in snapshot.resources}
        assert len(objects) == len(snapshot.resources), "snapshot ids must be unique"
        return cls(scope, objects, keep=keep)

    def snapshot(self) -> Snapshot:
        return Snapshot(tuple(sorted(self.objects.values(), key=lambda r: r.id or "")))

    def apply(self, plan: Plan) -> None:
        self.ids = {(kind, name): rid for kind, name, rid in plan.bindings}
        for change in plan.changes:
            if isinstance(change, Delete):
                self._delete(change.resource, duplicate=change.reason.startswith("duplicate"))
            elif isinstance(change, Create):
                self._create(change.resource)
            else:
                self._update(change)

    def _owned(self, rid: str, action: str) -> Resource:
        assert rid in self.objects, f"{action} of {rid}, which is not there"
        current = self.objects[rid]
        assert current.owner == self.scope.owner, f"{action} of {rid}, owned by {current.owner}"
        return current

    def _delete(self, resource: Resource, *, duplicate: bool) -> None:
        current = self._owned(resource.id or "", "delete")
        copies = [
            r.id
            for r in self.objects.values()
            if r.key == current.key and r.id != current.id and r.owner == self.scope.owner
        ]
        if duplicate:
            assert current.id not in self.keep, f"{current.kind} {current.id} kept, then deleted"
            assert copies, f"duplicate {current.kind} {current.id} deleted, the last of its name"
        if current.kind == "volume":  # volumes are never replaced: the kept copy is the original
            kept = duplicate and any(rid in self.keep for rid in copies)
            assert kept, f"volume {current.name} ({current.id}) deleted"
        users = [
            r.id
            for r in self.objects.values()
            if r.kind == "endpoint" and r.refs.get(current.kind) == current.id
        ]
        assert not users, (
            f"{current.kind} {current.name} ({current.id}) deleted while {users} use it"
        )
        del self.objects[current.id or ""]
        if self.ids.get((current.kind, current.name)) == current.id:
            del self.ids[(current.kind, current.name)]

    def _create(self, resource: Resource) -> None:
        refs = self._resolve(resource, REFERENCES)
        self.created += 1
        rid = f"new-{self.created}"
        # What the API reads back: write-only fields are not reported.
        kept = {k: v for k, v in resource.fields.items() if k not in resource.write_only}
        self.objects[rid] = replace(
            resource, id=rid, owner=self.scope.owner, fields=kept, refs=refs
        )
        self.ids[(resource.kind, resource.name)] = rid

    def _update(self, change: Update) -> None:
        current = self._owned(change.remote_id, "update")
        assert current.key == change.resource.key, "an update must not change kind or name"
        fields: dict[str, Any] = dict(current.fields)
        moved = {c.field.removesuffix(".id"): c for c in change.changes if _is_move(c.field)}
        for item in change.changes:
            assert item.field not in IMMUTABLE.get(current.kind, set()), f"{item.field} edited"
            if _is_move(item.field):
                continue
            assert fields.get(item.field) == item.old, f"{item.field}: stale old value"
            if item.new is None:
                fields.pop(item.field, None)
            else:
                fields[item.field] = item.new
        if current.kind == "volume":
            before = int(current.fields.get("size_gb", 0) or 0)
            after = int(fields.get("size_gb", 0) or 0)
            assert after >= before, f"volume {current.name} shrinks from {before} to {after}"
        # The executor sends a changed reference group whole, resolved from the name.
        sent = {c.field.split(".")[0] for c in change.changes} & set(REFERENCES)
        refs = dict(current.refs)
        for kind in sent:
            refs.pop(kind, None)
        refs |= self._resolve(replace(current, fields=fields), tuple(sent))
        for kind, item in moved.items():
            assert current.refs.get(kind) == item.old, f"{kind}.id: stale old value"
            assert refs.get(kind) == item.new, f"{kind}.id: the move sends {refs.get(kind)}"
        self.objects[current.id or ""] = replace(current, fields=fields, refs=refs)

    def _resolve(self, resource: Resource, kinds: tuple[str, ...]) -> dict[str, str]:
        """The ids an endpoint write sends for its references; each must be there and owned."""
        if resource.kind != "endpoint":
            return {}
        refs: dict[str, str] = {}
        for kind in kinds:
            wanted = resource.fields.get(kind)
            if not wanted:
                continue
            rid = self.ids.get((kind, wanted))
            present = rid in self.objects and self.objects[rid].owner == self.scope.owner
            assert present, f"endpoint {resource.name} refers to {kind} {wanted}, not there yet"
            refs[kind] = rid or ""
        return refs


def _is_move(field_name: str) -> bool:
    """A change of the id behind a reference whose name stays (`volume.id`, `template.id`)."""
    return field_name.removesuffix(".id") in REFERENCES and field_name.endswith(".id")


def apply_plan(plan: Plan, snapshot: Snapshot, keep: frozenset[str] = frozenset()) -> Snapshot:
    """The snapshot after `plan` (AssertionError on any broken rule); `keep` as for `plan`."""
    model = RemoteModel.of(snapshot, plan.scope, keep)
    model.apply(plan)
    return model.snapshot()
