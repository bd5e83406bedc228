"""Plain per-account state: dicts of JSON-ready records, so a snapshot is one `json.dump`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

Record = dict[str, Any]


def now_iso() -> str:
    """UTC timestamp in the platform's style (`2026-06-01T12:00:00Z`)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Account:
    """Everything one API key owns. Records are plain dicts (see the mixins for their keys)."""

    id: str
    templates: dict[str, Record] = field(default_factory=dict)
    endpoints: dict[str, Record] = field(default_factory=dict)
    volumes: dict[str, Record] = field(default_factory=dict)
    registries: dict[str, Record] = field(default_factory=dict)
    quota: int | None = None  # None: the backend's default quota

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "templates": self.templates,
            "endpoints": self.endpoints,
            "volumes": self.volumes,
            "registries": self.registries,
            "quota": self.quota,
        }

    @classmethod
    def restore(cls, data: dict[str, Any]) -> Account:
        return cls(
            id=data["id"],
            templates=data["templates"],
            endpoints=data["endpoints"],
            volumes=data["volumes"],
            registries=data["registries"],
            quota=data["quota"],
        )


@dataclass
class Quirks:
    """Live behaviours from the references, off by default (the documented contract wins)."""

    v1_ignore_flashboot_false_on_create: bool = False  # live v1 create keeps FlashBoot on
    v1_ignore_cpu_on_create: bool = False  # live v1 create makes a GPU endpoint anyway
    v1_accept_volume_shrink: bool = False  # live v1 accepted 20 -> 5 GB
    v1_live_error_shape: bool = False  # v1 errors as {"error", "problems"} instead of {"message"}
    v1_volume_500s: bool = False  # live v1: 500 for deleting a missing volume or an unknown DC
    require_zero_workers_before_delete: bool = False  # GraphQL's rule, maybe REST's too

    def as_dict(self) -> dict[str, bool]:
        return dict(vars(self))
