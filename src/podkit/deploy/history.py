"""Deploy history: every successful apply appends the applied desired state.

File: `<root>/.podkit/history/<project>-<env>.json`, written atomically. A record holds the
whole desired state (image digest included, secret *references* only, never values; an
inline secret of `worker.env` as its keyed fingerprint, see `podkit.deploy.sensitive`), so
`podkit rollback --to N` can re-apply it exactly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from podkit.deploy.model import DesiredState, Resource, Scope
from podkit.deploy.sensitive import Fingerprinter, fingerprinted, throwaway
from podkit.errors import DeployError
from podkit.redact import scrub_data

HISTORY_DIR = Path(".podkit") / "history"


@dataclass(frozen=True)
class Record:
    """One successful apply (or rollback)."""

    number: int
    applied_at: str
    api: str
    image: str
    source: str
    desired: DesiredState
    endpoint_id: str | None = None


def _resource_json(r: Resource, fingerprint: Fingerprinter) -> dict[str, Any]:
    return {
        "kind": r.kind,
        "name": r.name,
        "fields": fingerprinted(r.fields, fingerprint),
        "secret_fields": sorted(r.secret_fields),
        "write_only": sorted(r.write_only),
    }


def _resource_from(data: dict[str, Any]) -> Resource:
    return Resource(
        kind=data["kind"],
        name=data["name"],
        fields=data["fields"],
        secret_fields=frozenset(data.get("secret_fields", [])),
        write_only=frozenset(data.get("write_only", [])),
    )


class History:
    """The history of one project in one environment."""

    def __init__(
        self, scope: Scope, root: Path | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.scope = scope
        self.path = (root or Path.cwd()) / HISTORY_DIR / f"{scope.project}-{scope.env}.json"
        self._clock = clock

    def records(self) -> list[Record]:
        if not self.path.is_file():
            return []
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [self._record(item) for item in data["records"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise DeployError(
                f"{self.path}: unreadable deploy history ({exc})",
                hint="restore it from version control, or move it aside to start afresh",
            ) from None

    def _record(self, item: dict[str, Any]) -> Record:
        desired = DesiredState(
            scope=self.scope,
            api=item["api"],
            image=item["image"],
            resources=tuple(_resource_from(r) for r in item["resources"]),
        )
        return Record(
            number=item["number"],
            applied_at=item["applied_at"],
            api=item["api"],
            image=item["image"],
            source=item.get("source", "apply"),
            desired=desired,
            endpoint_id=item.get("endpoint_id"),
        )

    def append(
        self,
        desired: DesiredState,
        *,
        source: str,
        endpoint_id: str | None,
        fingerprint: Fingerprinter | None = None,
    ) -> Record:
        """Record an apply; inline secrets are stored as fingerprints (see `sensitive`)."""
        records = self.records()
        number = records[-1].number + 1 if records else 1
        stamp = datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="seconds")
        record = Record(number, stamp, desired.api, desired.image, source, desired, endpoint_id)
        self._write([*records, record], fingerprint or throwaway())
        return record

    def _write(self, records: list[Record], fingerprint: Fingerprinter) -> None:
        # Every record is written again: a value an older podkit stored becomes a fingerprint.
        payload = {
            "project": self.scope.project,
            "env": self.scope.env,
            "records": [
                {
                    "number": r.number,
                    "applied_at": r.applied_at,
                    "api": r.api,
                    "image": r.image,
                    "source": r.source,
                    "endpoint_id": r.endpoint_id,
                    "resources": [_resource_json(x, fingerprint) for x in r.desired.resources],
                }
                for r in records
            ],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.incomplete")
        text = json.dumps(scrub_data(payload), indent=2, sort_keys=True)
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(self.path)

    def target(self, to: int | None) -> Record:
        """The record a rollback re-applies: number `to`, else the one before the latest."""
        records = self.records()
        if not records:
            raise DeployError(
                f"no deploy history for {self.scope.owner} at {self.path}",
                hint="rollback needs an earlier successful `podkit apply` from this directory",
            )
        if to is None:
            if len(records) < 2:
                raise DeployError(
                    f"only one apply recorded for {self.scope.owner}; nothing to roll back to",
                    hint="pass --to N for a specific record (see `podkit status`)",
                )
            # The latest record is live; roll back to the newest one with a different image,
            # falling back to the previous record.
            latest = records[-1]
            earlier = [r for r in records[:-1] if r.image != latest.image]
            return earlier[-1] if earlier else records[-2]
        for record in records:
            if record.number == to:
                return record
        known = ", ".join(str(r.number) for r in records)
        raise DeployError(
            f"no history record #{to} for {self.scope.owner} (records: {known})",
            hint="pick one of the listed numbers",
        )
