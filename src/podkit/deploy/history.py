"""Deploy history: every successful apply appends the applied desired state.

File: `<root>/.podkit/history/<project>-<env>.json`, written atomically. A record holds the
whole desired state (image digest included, secret *references* only, never values; an
inline secret of `worker.env` as its keyed fingerprint, see `podkit.deploy.sensitive`), so
`podkit rollback --to N` can re-apply it exactly.

Each record also names its target: the API origin and a fingerprint of the account (a hash
of the key, never the key) plus the REST generation. A `History` opened for one target sees
only that target's records (and records written before targets were stored), so two local
RunPods, or a local one and the real one, never mix. `podkit destroy` appends a record too
(source `destroy`, no resources): later commands say the endpoint was destroyed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from podkit.deploy.desired import complete
from podkit.deploy.model import OWNER_ENV, DesiredState, Resource, Scope
from podkit.deploy.sensitive import Fingerprinter, fingerprinted, throwaway
from podkit.errors import DeployError
from podkit.redact import public_url, scrub_data

HISTORY_DIR = Path(".podkit") / "history"
DESTROY = "destroy"
# An automatic rollback's source names the release it undid: "rollback: release failed on #N".
FAILED_ON = "release failed on #"


@dataclass(frozen=True)
class TargetRef:
    """Where a deploy went: the API origin and a fingerprint of the account's key."""

    origin: str
    account: str

    @classmethod
    def of(cls, origin: str, api_key: str) -> TargetRef:
        digest = hashlib.sha256(f"podkit-account:{api_key}".encode()).hexdigest()
        # Credentials in the target URL (a proxy's) are not part of which RunPod it is.
        return cls(public_url(origin).rstrip("/"), f"acct-{digest[:12]}")

    def __str__(self) -> str:
        return f"{self.origin} ({self.account})"


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
    target: TargetRef | None = None

    @property
    def destroyed(self) -> bool:
        """A record `podkit destroy` wrote: nothing of the project is deployed after it."""
        return self.source == DESTROY


def _resource_json(r: Resource, fingerprint: Fingerprinter) -> dict[str, Any]:
    return {
        "kind": r.kind,
        "name": r.name,
        "fields": fingerprinted(r.fields, fingerprint),
        "secret_fields": sorted(r.secret_fields),
        "write_only": sorted(r.write_only),
    }


class _BadField(Exception):
    """A field of the history file that is missing or of the wrong kind."""

    def __init__(self, field: str, what: str) -> None:
        super().__init__(f"{field} {what}")
        self.field, self.what = field, what


_KINDS: dict[type, str] = {
    str: "text", int: "a whole number", list: "a list", dict: "an object", type(None): "null"
}  # fmt: skip
_MISSING = object()


def _kind(value: Any) -> str:
    return "true/false" if isinstance(value, bool) else _KINDS.get(type(value), "a number")


def _field(
    data: Any, key: str | int, kind: type | tuple[type, ...], at: str, default: Any = _MISSING
) -> Any:
    """`data[key]` when it is of `kind`, else `_BadField` naming `at` (the field's path)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    value = data.get(key, default) if isinstance(data, dict) else data[key]
    if value is _MISSING:
        raise _BadField(at, "is missing")
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        wanted = " or ".join(_KINDS[k] for k in kinds)
        raise _BadField(at, f"must be {wanted}, not {_kind(value)}")
    return value


def _items(
    data: dict[str, Any], key: str, kind: type, at: str, default: Any = _MISSING
) -> list[Any]:
    """The entries of the list `data[key]`, each checked to be of `kind`."""
    values = _field(data, key, list, f"{at}.{key}", default)
    return [_field(values, n, kind, f"{at}.{key}[{n}]") for n in range(len(values))]


def _resource_from(data: dict[str, Any], at: str) -> Resource:
    return Resource(
        kind=_field(data, "kind", str, f"{at}.kind"),
        name=_field(data, "name", str, f"{at}.name"),
        fields=_field(data, "fields", dict, f"{at}.fields"),
        secret_fields=frozenset(_items(data, "secret_fields", str, at, [])),
        write_only=frozenset(_items(data, "write_only", str, at, [])),
    )


class History:
    """The history of one project in one environment."""

    def __init__(
        self,
        scope: Scope,
        root: Path | None = None,
        *,
        clock: Callable[[], float] = time.time,
        target: TargetRef | None = None,
    ) -> None:
        self.scope = scope
        self.path = (root or Path.cwd()) / HISTORY_DIR / f"{scope.project}-{scope.env}.json"
        self._clock = clock
        self.target_ref = target

    def records(self) -> list[Record]:
        """The records of this history's target (all of them when it has none)."""
        return [r for r in self.all_records() if self._ours(r)]

    def _ours(self, record: Record) -> bool:
        return self.target_ref is None or record.target in (None, self.target_ref)

    def check_writable(self) -> None:
        """Before a deploy writes anything: the file can be read, and can take its record."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._unwritable(exc.strerror or str(exc)) from None
        if self.path.exists() and not self.path.is_file():
            raise self._unwritable("it is not a file")
        self.all_records()

    def _unwritable(self, why: str) -> DeployError:
        return DeployError(
            f"{self.path}: the deploy history cannot be written ({why}); nothing was changed",
            hint="move what is in the way aside (the history is a JSON file), then run again",
        )

    def all_records(self) -> list[Record]:
        """Every record in the file, whatever its target."""
        if not self.path.is_file():
            return []
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            raise self._unreadable(f"it is not JSON ({exc})") from None
        except RecursionError:
            raise self._unreadable("its lists or objects are nested too deeply to read") from None
        if not isinstance(data, dict):
            raise self._unreadable(f"it must be an object with a records list, not {_kind(data)}")
        try:
            self._check_scope(data)
            items = _items(data, "records", dict, "")
            records = [self._record(item, f"records[{n}]") for n, item in enumerate(items)]
        except _BadField as bad:
            raise self._unreadable(f"field {bad.field.lstrip('.')} {bad.what}") from None
        return _numbered(records, self._unreadable)

    def _check_scope(self, data: dict[str, Any]) -> None:
        """A file copied from another project or environment is not this one's history."""
        for key, ours in (("project", self.scope.project), ("env", self.scope.env)):
            value = data.get(key, ours)
            if value != ours:
                raise _BadField(key, f"is {str(value)[:80]!r}, not {ours!r}: this is the "
                                "history of another project or environment")  # fmt: skip

    def _unreadable(self, why: str) -> DeployError:
        return DeployError(
            f"{self.path}: unreadable deploy history: {why}",
            hint=f"fix that in the file, or move it aside (mv {self.path} {self.path}.bad; the "
            "next apply starts a new history); `podkit history` lists the records once it reads",
        )

    def _record(self, item: dict[str, Any], at: str) -> Record:
        api = _field(item, "api", str, f"{at}.api")
        image = _field(item, "image", str, f"{at}.image")
        resources = _items(item, "resources", dict, at)
        desired = DesiredState(
            scope=self.scope,
            api=api,
            image=image,
            resources=tuple(
                self._owned(_resource_from(r, f"{at}.resources[{n}]"), f"{at}.resources[{n}]")
                for n, r in enumerate(resources)
            ),
        )
        number = _field(item, "number", int, f"{at}.number")
        if number < 1:
            raise _BadField(f"{at}.number", f"must be 1 or more, not {number}")
        return Record(
            number=number,
            applied_at=_field(item, "applied_at", str, f"{at}.applied_at"),
            api=api,
            image=image,
            source=_field(item, "source", str, f"{at}.source", "apply"),
            desired=desired,
            endpoint_id=_field(item, "endpoint_id", (str, type(None)), f"{at}.endpoint_id", None),
            target=_target_from(item.get("target")),
        )

    def _owned(self, r: Resource, at: str) -> Resource:
        """A recorded object of this project and environment; a rollback re-applies it, so
        one of another (its owner marker, its name) would take that project's objects."""
        owner = r.fields.get(f"env.{OWNER_ENV}", self.scope.owner)
        if owner != self.scope.owner:
            raise _BadField(f"{at}.fields.env.{OWNER_ENV}", f"is {str(owner)[:80]!r}, not "
                            f"{self.scope.owner!r}: a record of another project")  # fmt: skip
        if r.kind != "endpoint" and not r.name.startswith(self.scope.prefix):
            raise _BadField(f"{at}.name", f"{r.name[:80]!r} does not start with "
                            f"{self.scope.prefix!r}: a record of another project")  # fmt: skip
        return r

    def append(
        self,
        desired: DesiredState,
        *,
        source: str,
        endpoint_id: str | None,
        fingerprint: Fingerprinter | None = None,
    ) -> Record:
        """Record an apply; inline secrets are stored as fingerprints (see `sensitive`)."""
        records = self.all_records()
        number = records[-1].number + 1 if records else 1
        stamp = datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="seconds")
        record = Record(
            number,
            stamp,
            desired.api,
            desired.image,
            source,
            desired,
            endpoint_id,
            self.target_ref,
        )
        self._write([*records, record], fingerprint or throwaway())
        return record

    def append_destroy(self, api: str, endpoint_id: str | None) -> Record:
        """Note a `podkit destroy`: what ran before it is gone from this target."""
        empty = DesiredState(scope=self.scope, api=api, image="", resources=())
        return self.append(empty, source=DESTROY, endpoint_id=endpoint_id)

    def behind(
        self, desired: DesiredState, endpoint_id: str | None, fingerprint: Fingerprinter
    ) -> bool:
        """Whether the latest record of this target is not `desired` (image or settings) as
        deployed on `endpoint_id`: an apply that stopped after its writes and before its
        record (a crash, Ctrl-C) left the history behind what runs."""
        records = self.records()
        if not records:
            return True
        latest = records[-1]
        if latest.destroyed or (latest.api, latest.image) != (desired.api, desired.image):
            return True
        if endpoint_id is not None and latest.endpoint_id not in (None, endpoint_id):
            return True
        recorded = complete(latest.desired)  # a record older than a field reads as unset
        return bool(_as_recorded(recorded, fingerprint) != _as_recorded(desired, fingerprint))

    def last_destroy(self) -> Record | None:
        """The latest record when it is a destroy (nothing deployed since), else None."""
        records = self.records()
        return records[-1] if records and records[-1].destroyed else None

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
                    "target": _target_json(r.target),
                    "resources": [_resource_json(x, fingerprint) for x in r.desired.resources],
                }
                for r in records
            ],
        }
        tmp = self.path.with_suffix(".json.incomplete")
        text = json.dumps(scrub_data(payload), indent=2, sort_keys=True)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _write_new(tmp, text + "\n")
            tmp.replace(self.path)
        except OSError as exc:
            raise DeployError(
                f"{self.path}: the deploy history cannot be written ({exc.strerror or exc}); "
                f"record #{records[-1].number} ({records[-1].source}) is missing from it",
                hint="free the path or the disk; `podkit status` shows what is live now",
            ) from exc

    def target(self, to: int | None) -> Record:
        """The record a rollback re-applies: number `to`, else the one before the latest."""
        records = [r for r in self.records() if not r.destroyed]
        if not records:
            raise DeployError(
                f"no deploy history for {self.scope.owner} on this target at {self.path}",
                hint="rollback needs an earlier successful `podkit apply` from this directory "
                "to this target (see `podkit history --all`)",
            )
        if to is None and self.last_destroy() is not None:
            return records[-1]  # destroyed: bring back what ran last
        if to is None:
            if len(records) < 2:
                raise DeployError(
                    f"only one apply recorded for {self.scope.owner}; nothing to roll back to",
                    hint="pass --to N for a specific record (see `podkit history`)",
                )
            # The latest record is live; roll back to the newest one with a different image,
            # falling back to the previous record.
            latest = records[-1]
            failed = _failed(records)
            earlier = [
                r for r in records[:-1] if r.image != latest.image and r.number not in failed
            ]
            return earlier[-1] if earlier else records[-2]
        for record in records:
            if record.number == to:
                return record
        known = ", ".join(str(r.number) for r in records)
        raise DeployError(
            f"no history record #{to} for {self.scope.owner} (records: {known})",
            hint="pick one of the listed numbers (`podkit history`)",
        )


def _write_new(path: Path, text: str) -> None:
    """Write `path` as a new file: one left in its place (a crashed run's, or a link planted
    to make podkit write elsewhere) is removed first, never followed."""
    path.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(path, flags, 0o644), "w", encoding="utf-8") as out:
        out.write(text)


def _numbered(records: list[Record], unreadable: Callable[[str], DeployError]) -> list[Record]:
    """The records in the order of their numbers (a file edited by hand may mix them up);
    two with one number cannot both be `rollback --to` that number."""
    seen: set[int] = set()
    for n, record in enumerate(records):
        if record.number in seen:
            raise unreadable(f"field records[{n}].number repeats #{record.number}")
        seen.add(record.number)
    return sorted(records, key=lambda r: r.number)


def _as_recorded(desired: DesiredState, fingerprint: Fingerprinter) -> Any:
    """The resources' names and fields as a record stores them (fingerprinted, scrubbed,
    through JSON); which fields are masked is how they are shown, not what runs."""
    resources = [
        {k: v for k, v in _resource_json(r, fingerprint).items() if k in ("kind", "name", "fields")}
        for r in desired.resources
    ]
    return json.loads(json.dumps(scrub_data(resources), sort_keys=True))


def _failed(records: list[Record]) -> set[int]:
    """Numbers of releases the gate rolled back (never a rollback's default target)."""
    found = set()
    for record in records:
        _, marker, number = record.source.partition(FAILED_ON)
        if marker and number.isdigit():
            found.add(int(number))
    return found


def _target_json(target: TargetRef | None) -> dict[str, str] | None:
    return None if target is None else {"origin": target.origin, "account": target.account}


def _target_from(data: Any) -> TargetRef | None:
    if not isinstance(data, dict):
        return None
    return TargetRef(str(data.get("origin", "")), str(data.get("account", "")))
