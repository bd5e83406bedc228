"""Execute a Plan: writes in the plan's order, each read back and compared.

The executor never decides what to change (the planner did); it translates each change into
the API generation's request, remembers the ids it creates (a later endpoint needs the new
volume's id), and reads every written object back: a field the server did not keep fails
the apply loudly, naming the object and the field. Deleting something already gone is fine,
so a re-run after a crash converges.

A write whose outcome is unknown (a 5xx or a connection lost after the request went out) is
never repeated blindly: the executor reads the object back (a create by name and podkit's
ownership marker, an update by its fields, a delete by its id), then adopts what the server
did or writes again. A create retried blindly could leave a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from podkit.deploy import wire_v1, wire_v2
from podkit.deploy.model import Resource, Scope, Snapshot
from podkit.deploy.plan import Create, Delete, FieldChange, Plan, Update
from podkit.deploy.planner import diff_fields
from podkit.deploy.snapshot import read_snapshot
from podkit.errors import (
    DeployError,
    InvalidRequestError,
    NotFoundError,
    PodkitError,
    ServerError,
    TransportError,
)
from podkit.runpod import RunPodClient, RunPodV1
from podkit.runpod.types import v1 as t1
from podkit.runpod.types import v2 as t2

Progress = Callable[[str], None]

# Errors after which the server may have applied the write: read back before writing again.
UNKNOWN_OUTCOME = (ServerError, TransportError)
WRITE_ROUNDS = 4


@dataclass
class ApplyResult:
    """What an apply did: ids by (kind, name), and how many changes it wrote."""

    ids: dict[tuple[str, str], str] = field(default_factory=dict)
    applied: int = 0

    def id_of(self, kind: str) -> str | None:
        return next((v for (k, _), v in sorted(self.ids.items()) if k == kind), None)


def silent(message: str) -> None:
    """The default progress callback: report nothing."""


class Executor:
    """Applies plans through one client (v2 or v1)."""

    def __init__(self, client: RunPodClient, *, progress: Progress = silent) -> None:
        self._client = client
        self._progress = progress

    def apply(self, plan: Plan, snapshot: Snapshot) -> ApplyResult:
        result = ApplyResult()
        result.ids.update({(k, n): i for k, n, i in plan.bindings})
        result.ids.update({("registry", n): i for n, i in snapshot.registries})
        known = frozenset(r.id for r in snapshot.resources if r.id)
        for change in plan.changes:
            r = change.resource
            self._progress(f"{change.action} {r.kind} {r.name}")
            if isinstance(change, Delete):
                self._delete_converging(r)
                if result.ids.get((r.kind, r.name)) == r.id:
                    del result.ids[(r.kind, r.name)]
            elif isinstance(change, Create):
                new_id = self._create_converging(r, result.ids, plan.scope, known)
                result.ids[(r.kind, r.name)] = new_id
                self._verify(r, new_id, result.ids)
            else:
                self._update_converging(change, result.ids)
                self._verify(r, change.remote_id, result.ids)
            result.applied += 1
        return result

    def _create_converging(
        self, r: Resource, ids: dict[tuple[str, str], str], scope: Scope, known: frozenset[str]
    ) -> str:
        """Create once; after an unknown outcome, adopt what the server made or create again."""
        last: PodkitError | None = None
        for attempt in range(1, WRITE_ROUNDS + 1):
            try:
                return self._create(r, ids)
            except UNKNOWN_OUTCOME as exc:
                last = exc
            except InvalidRequestError as exc:
                if attempt == 1:
                    raise  # a plain refusal; later, it may be an earlier attempt's object
                last = exc
            found = self._find_created(r, scope, known)
            if found is not None:
                self._progress(f"{r.kind} {r.name}: the create's answer was lost; adopted {found}")
                return found
            self._progress(f"{r.kind} {r.name}: the create did not happen; creating it again")
        raise _gave_up("create", r, last)

    def _find_created(self, r: Resource, scope: Scope, known: frozenset[str]) -> str | None:
        """The id of an owned object of this name that the plan did not know of."""
        snapshot = read_snapshot(self._client, scope)
        found = [
            c.id
            for c in snapshot.named(r.kind, r.name)
            if c.owner == scope.owner and c.id and c.id not in known
        ]
        if len(found) > 1:
            raise DeployError(
                f"{r.kind} {r.name} exists {len(found)} times ({', '.join(found)}) after an "
                "unanswered create",
                hint=f"keep one with `podkit apply --keep ID` ({scope.owner})",
            )
        return found[0] if found else None

    def _update_converging(self, change: Update, ids: dict[tuple[str, str], str]) -> None:
        """Update (the transport retried it); if it still failed, read back before retrying."""
        last: PodkitError | None = None
        for _ in range(WRITE_ROUNDS):
            try:
                self._update(change, ids)
                return
            except UNKNOWN_OUTCOME as exc:
                last = exc
            if not diff_fields(change.resource, self._read(change.resource, change.remote_id, ids)):
                self._progress(f"{change.resource.kind} {change.resource.name}: update applied")
                return
        raise _gave_up("update", change.resource, last)

    def _delete_converging(self, r: Resource) -> None:
        last: PodkitError | None = None
        for _ in range(WRITE_ROUNDS):
            try:
                self._delete(r)
                return
            except UNKNOWN_OUTCOME as exc:
                last = exc
            if not self._exists(r):
                return
        raise _gave_up("delete", r, last)

    def _exists(self, r: Resource) -> bool:
        c = self._client
        collection = {"volume": c.network_volumes, "template": c.templates, "endpoint": c.endpoints}
        try:
            collection[r.kind].get(r.id or "")
        except NotFoundError:
            return False
        return True

    def _delete(self, r: Resource) -> None:
        c = self._client
        collection = {"volume": c.network_volumes, "template": c.templates, "endpoint": c.endpoints}
        try:
            collection[r.kind].delete(r.id or "")
        except NotFoundError:
            return  # already gone (an earlier run, or an unanswered attempt): converged
        except InvalidRequestError:
            if r.kind != "endpoint":
                raise
            # Some accounts refuse to delete an endpoint that still has workers: scale to
            # zero first, as the platform's own tooling does, then delete once more.
            self._scale_to_zero(r.id or "")
            collection[r.kind].delete(r.id or "")

    def _scale_to_zero(self, endpoint_id: str) -> None:
        c = self._client
        self._progress(f"scale endpoint {endpoint_id} to 0 workers before deleting it")
        if isinstance(c, RunPodV1):
            c.endpoints.update(endpoint_id, t1.EndpointUpdate(workers_min=0, workers_max=0))
        else:
            workers = t2.EndpointWorkers(min=0, max=0)
            c.endpoints.update(endpoint_id, t2.EndpointUpdate(workers=workers))

    def _create(self, r: Resource, ids: dict[tuple[str, str], str]) -> str:
        c = self._client
        if isinstance(c, RunPodV1):
            if r.kind == "volume":
                return c.network_volumes.create(wire_v1.volume_create(r)).id
            if r.kind == "template":
                return c.templates.create(wire_v1.template_create(r, ids)).id
            return c.endpoints.create(wire_v1.endpoint_create(r, ids)).id
        if r.kind == "volume":
            return c.network_volumes.create(wire_v2.volume_create(r)).id
        if r.kind == "endpoint":
            return c.endpoints.create(wire_v2.endpoint_create(r, ids)).id
        raise DeployError(f"template {r.name}: REST v2 deploys do not use templates")

    def _update(self, change: Update, ids: dict[tuple[str, str], str]) -> None:
        c, r, rid = self._client, change.resource, change.remote_id
        if r.kind == "volume":
            body = wire_v1.volume_update(r) if isinstance(c, RunPodV1) else wire_v2.volume_update(r)
            c.network_volumes.update(rid, body)  # type: ignore[arg-type]
        elif r.kind == "endpoint":
            if isinstance(c, RunPodV1):
                c.endpoints.update(rid, wire_v1.endpoint_update(r, change.changes, ids))
            else:
                c.endpoints.update(rid, wire_v2.endpoint_update(r, change.changes, ids))
        else:
            raise DeployError(
                f"template {r.name} ({rid}) differs from podkit.toml, but templates are "
                "content-addressed and never edited",
                hint="delete that template in the RunPod console and run apply again",
            )

    def _read(self, r: Resource, rid: str, ids: dict[tuple[str, str], str]) -> Resource:
        c = self._client
        names = {v: k[1] for k, v in ids.items()}
        if isinstance(c, RunPodV1):
            if r.kind == "volume":
                return wire_v1.volume_resource(c.network_volumes.get(rid), _NO_SCOPE)
            if r.kind == "template":
                return wire_v1.template_resource(c.templates.get(rid), names)
            return wire_v1.endpoint_resource(c.endpoints.get(rid), names, {})
        if r.kind == "volume":
            return wire_v2.volume_resource(c.network_volumes.get(rid), _NO_SCOPE)
        return wire_v2.endpoint_resource(c.endpoints.get(rid), names)

    def _verify(self, r: Resource, rid: str, ids: dict[tuple[str, str], str]) -> None:
        remote = self._read(r, rid, ids)
        drift = diff_fields(r, remote)
        if not drift and r.kind == "endpoint" and "flashboot" in r.write_only:
            drift = self._verify_v1_flashboot(r, rid)
        if drift:
            raise DeployError(
                f"{r.kind} {r.name} ({rid}): the server did not keep "
                + "; ".join(_describe(d) for d in drift),
                hint="the API accepted the write but dropped these fields; set them in the "
                "RunPod console or change podkit.toml to what the platform allows",
            )

    def _verify_v1_flashboot(self, r: Resource, rid: str) -> tuple[FieldChange, ...]:
        """v1 never reports flashboot and its create is known to ignore `false`: read the
        v2 view of the same endpoint, and PATCH once if it did not stick."""
        c = self._client
        if not isinstance(c, RunPodV1):
            return ()
        wanted = bool(r.fields.get("flashboot"))
        actual = c.endpoints_v2.get(rid).flashboot != "OFF"
        if actual == wanted:
            return ()
        self._progress(f"flashboot is {actual} on endpoint {rid}; setting it to {wanted}")
        c.endpoints.update(rid, t1.EndpointUpdate(flashboot=wanted))
        actual = c.endpoints_v2.get(rid).flashboot != "OFF"
        return () if actual == wanted else (FieldChange("flashboot", actual, wanted),)


def _gave_up(action: str, r: Resource, last: PodkitError | None) -> DeployError:
    reason = last.message if last is not None else "no answer"
    return DeployError(
        f"{action} of {r.kind} {r.name} failed {WRITE_ROUNDS} times, each read back as not "
        f"done; last: {reason}",
        hint="the API is failing; wait a minute, then run the same command again (it converges)",
    )


def _describe(change: FieldChange) -> str:
    old, new = change.shown()
    return f"{change.field} (sent {new!r}, server has {old!r})"


# Read-back compares fields only; ownership is not at stake there.
_NO_SCOPE = Scope("\0", "\0")
