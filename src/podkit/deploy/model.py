"""The shared vocabulary of desired and remote state: flat, comparable resource fields.

Both the desired state (from podkit.toml) and the snapshot (from the API, v1 or v2) are
normalised into `Resource`s whose `fields` use podkit's names (`workers.max`, `env.HF_HOME`,
`gpu.count`, ...), so the planner compares like with like and never sees an API generation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["volume", "template", "endpoint"]
KIND_ORDER: dict[str, int] = {"volume": 0, "template": 1, "endpoint": 2}
OWNER_ENV = "PODKIT_OWNER"
LOCK_ENV = "PODKIT_LOCK"  # marks the deploy lock's template (see `deploy.lock`); never planned
SECRET_MASK = "(sensitive)"
# The planner only lists a field that differs, so a masked pair still reads as a change.
SECRET_CHANGED = "(sensitive, changed)"


@dataclass(frozen=True)
class Scope:
    """One project in one environment: what podkit may touch."""

    project: str
    env: str

    @property
    def owner(self) -> str:
        return f"{self.project}/{self.env}"

    @property
    def prefix(self) -> str:
        return f"pk-{self.project}-{self.env}-"

    def name(self, base: str) -> str:
        """The remote name of a podkit-owned object."""
        return f"{self.prefix}{base}"


@dataclass(frozen=True)
class Resource:
    """One volume, template or endpoint, desired or remote, as flat fields."""

    kind: Kind
    name: str
    fields: Mapping[str, Any] = field(default_factory=dict, hash=False)
    secret_fields: frozenset[str] = frozenset()
    # Sent on create but not readable back (v1 `flashboot`): never compared.
    write_only: frozenset[str] = frozenset()
    id: str | None = None
    owner: str | None = None
    # Remote only: the ids behind the reference fields that name another object (`volume`,
    # `template`), as read. Two copies of one name read the same in `fields`; not here.
    refs: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> tuple[int, str]:
        return (KIND_ORDER[self.kind], self.name)

    def env(self) -> dict[str, str]:
        """The `env.*` fields as an environment mapping."""
        return {k[4:]: str(v) for k, v in self.fields.items() if k.startswith("env.")}


@dataclass(frozen=True)
class DesiredState:
    """What podkit.toml asks for, in one environment, for one API generation."""

    scope: Scope
    api: str
    image: str
    resources: tuple[Resource, ...]

    def get(self, kind: Kind) -> Resource | None:
        return next((r for r in self.resources if r.kind == kind), None)


@dataclass(frozen=True)
class Snapshot:
    """Every remote object of the three kinds the key can see, normalised."""

    resources: tuple[Resource, ...] = ()
    # Registry credentials by name -> id (read only when podkit.toml names one).
    registries: tuple[tuple[str, str], ...] = ()

    def named(self, kind: Kind, name: str) -> list[Resource]:
        found = [r for r in self.resources if r.kind == kind and r.name == name]
        return sorted(found, key=lambda r: r.id or "")

    def owned(self, scope: Scope) -> list[Resource]:
        return sorted(
            (r for r in self.resources if r.owner == scope.owner), key=lambda r: (r.key, r.id)
        )

    def of_kind(self, kind: Kind) -> list[Resource]:
        return [r for r in self.resources if r.kind == kind]


def flatten_env(env: Mapping[str, str], prefix: str = "env.") -> dict[str, str]:
    return {f"{prefix}{k}": v for k, v in sorted(env.items())}


def masked(value: Any, secret: bool) -> Any:
    """A value as it may be shown: secret values never leave this function."""
    if secret and value is not None:
        return SECRET_MASK
    return value


def sorted_resources(items: Iterable[Resource]) -> list[Resource]:
    return sorted(items, key=lambda r: r.key)
