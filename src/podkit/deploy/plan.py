"""The Plan: frozen Create / Update / Delete changes in a total order, plus cost and notes.

One plan, two consumers: the renderers show it, the executor applies the very same object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podkit.deploy.model import SECRET_CHANGED, DesiredState, Resource, Scope, masked


@dataclass(frozen=True)
class FieldChange:
    """One field of one resource: old -> new (None = absent)."""

    field: str
    old: Any
    new: Any
    secret: bool = False

    def shown(self) -> tuple[Any, Any]:
        """(old, new) with secret values masked; a changed secret says so."""
        old, new = masked(self.old, self.secret), masked(self.new, self.secret)
        if self.secret and self.old is not None and self.new is not None:
            new = SECRET_CHANGED
        return old, new


@dataclass(frozen=True)
class Create:
    resource: Resource
    action: str = "create"

    @property
    def changes(self) -> tuple[FieldChange, ...]:
        r = self.resource
        return tuple(
            FieldChange(k, None, v, k in r.secret_fields) for k, v in sorted(r.fields.items())
        )


@dataclass(frozen=True)
class Update:
    resource: Resource
    remote_id: str
    changes: tuple[FieldChange, ...]
    action: str = "update"


@dataclass(frozen=True)
class Delete:
    resource: Resource
    reason: str = "not in podkit.toml"
    action: str = "delete"

    @property
    def changes(self) -> tuple[FieldChange, ...]:
        return ()


Change = Create | Update | Delete


@dataclass(frozen=True)
class CostEstimate:
    """Always-on workers (USD/hour) and network volume storage (USD/month), before/after."""

    hourly_before: float | None
    hourly_after: float | None
    volume_monthly_before: float
    volume_monthly_after: float

    @property
    def hourly_delta(self) -> float | None:
        if self.hourly_before is None or self.hourly_after is None:
            return None
        return round(self.hourly_after - self.hourly_before, 4)

    @property
    def monthly_delta(self) -> float:
        return round(self.volume_monthly_after - self.volume_monthly_before, 4)


@dataclass(frozen=True)
class Plan:
    """Everything `apply` would do, in order; empty `changes` means "no changes"."""

    scope: Scope
    api: str
    changes: tuple[Change, ...]
    desired: DesiredState | None = None
    notes: tuple[str, ...] = ()
    cost: CostEstimate | None = None
    # (kind, name, id) of remote objects the desired state converges onto (changed or not).
    bindings: tuple[tuple[str, str, str], ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def summary(self) -> str:
        if not self.changes:
            return "no changes"
        parts = [f"{self.count(a)} to {a}" for a in ("create", "update", "delete") if self.count(a)]
        return ", ".join(parts)

    def secret_fields(self) -> frozenset[str]:
        out: set[str] = set()
        for change in self.changes:
            out |= change.resource.secret_fields
        return frozenset(out)
