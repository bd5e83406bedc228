"""The backend's base: accounts, the lock, ids, persistence and change events."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from podkit.emulator.backend.catalog import Catalog
from podkit.emulator.backend.errors import BackendError
from podkit.emulator.backend.faults import FaultPlan
from podkit.emulator.backend.ids import IdFactory
from podkit.emulator.backend.keys import KeyRing
from podkit.emulator.backend.ratelimit import RateLimits
from podkit.emulator.backend.state import Account, Quirks, Record
from podkit.emulator.backend.statelock import StateLock
from podkit.emulator.runtime import (
    DEFAULT_WORKER_COMMAND,
    EndpointListener,
    EndpointSpec,
    NullListener,
)
from podkit.errors import EmulatorError

DEFAULT_QUOTA = 5
SNAPSHOT_NAME = "state.json"
SNAPSHOT_FORMAT = 1
SNAPSHOT_HINT = "move the file away or pick another --state-dir"
QUOTA_TEXT = "Max workers across all endpoints must not exceed your workers quota ({quota})"


class BackendCore:
    """State and plumbing shared by the resource mixins; see `Backend` for the public API."""

    def __init__(
        self,
        *,
        seed: int | None = None,
        state_dir: Path | str | None = None,
        quota: int = DEFAULT_QUOTA,
        worker_command: tuple[str, ...] | list[str] | None = None,
        api_keys: Iterable[str] = (),
    ) -> None:
        self._lock = threading.RLock()
        self.ids = IdFactory(seed)
        self.catalog = Catalog()
        self.quirks = Quirks()
        self.faults = FaultPlan()
        self.rate_limits = RateLimits()
        self.default_quota = quota
        self._initial_quota = quota
        self.default_worker_command = tuple(worker_command or DEFAULT_WORKER_COMMAND)
        self.accounts: dict[str, Account] = {}
        self._listener: EndpointListener = NullListener()
        self._events: list[tuple[str, str]] = []
        self.keys = KeyRing(api_keys)
        self._own_tmp = state_dir is None
        self.state_dir = Path(state_dir or tempfile.mkdtemp(prefix="podkit-emulator-"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._persist = state_dir is not None
        self._state_lock = StateLock(self.state_dir) if self._persist else None
        if self._state_lock is not None:
            self._state_lock.acquire()
            try:
                self._load()
            except BaseException:
                self._state_lock.release()
                raise

    # -- accounts and locking ---------------------------------------------------------------
    def account(self, api_key: str) -> Account:
        """The account of an API key, created on first use."""
        if not api_key:
            raise ValueError("an API key is required")
        aid = self.keys.account_of(api_key)
        with self._lock:
            if aid not in self.accounts:
                self.accounts[aid] = Account(id=aid)
            return self.accounts[aid]

    @contextlib.contextmanager
    def _mutation(self) -> Iterator[None]:
        """Hold the lock for a change; then persist it and tell the listener, outside the lock."""
        with self._lock:
            before = self._serialized() if self._persist else ""
            try:
                yield
            except BaseException:
                self._events.clear()  # a refused change announces nothing
                raise
            events, self._events = self._events, []
            if self._persist:
                self._save_or_restore(before)
            specs = [(kind, eid, self._spec_or_none(eid)) for kind, eid in events]
        for kind, eid, spec in specs:
            if kind == "upsert" and spec is not None:
                self._listener.endpoint_upserted(spec)
            elif kind == "delete":
                self._listener.endpoint_deleted(eid)

    def _emit(self, kind: str, endpoint_id: str) -> None:
        self._events.append((kind, endpoint_id))

    def _new_id(self, kind: str) -> str:
        taken = self._all_ids()
        while (ident := self.ids.new(kind)) in taken:
            continue
        return ident

    def _all_ids(self) -> set[str]:
        ids: set[str] = set()
        for acc in self.accounts.values():
            for table in (acc.templates, acc.endpoints, acc.volumes, acc.registries):
                ids.update(table)
        return ids

    def set_key_scope(self, api_key: str, scope: str | None) -> None:
        """Restrict a key like the console's scoped keys (`keys.parse_scope`: "read", "none",
        "api=read,endpoint/ID=write", ...; None: its configured scope again). In memory only."""
        self.keys.override(api_key, scope)

    def quota_of(self, acc: Account) -> int:
        return self.default_quota if acc.quota is None else acc.quota

    def _check_quota(self, acc: Account, endpoint_id: str | None, new_max: int) -> None:
        used = sum(e["workers"]["max"] for i, e in acc.endpoints.items() if i != endpoint_id)
        quota = self.quota_of(acc)
        if used + new_max > quota:
            raise BackendError(400, QUOTA_TEXT.format(quota=quota))

    # -- lookups across accounts (for the data plane) ---------------------------------------
    def find_endpoint(self, endpoint_id: str) -> tuple[str, Record] | None:
        """(owner account id, record) of an endpoint in any account."""
        with self._lock:
            for acc in self.accounts.values():
                if endpoint_id in acc.endpoints:
                    return acc.id, acc.endpoints[endpoint_id]
            return None

    def volume_dir(self, volume_id: str) -> Path:
        """The local directory standing in for a network volume."""
        return self.state_dir / "volumes" / volume_id

    def endpoint_spec(self, endpoint_id: str) -> EndpointSpec | None:
        """Everything a worker supervisor needs for one endpoint, or None if it is gone."""
        with self._lock:
            return self._spec_or_none(endpoint_id)

    def _spec_or_none(self, endpoint_id: str) -> EndpointSpec | None:
        found = self.find_endpoint(endpoint_id)
        if found is None:
            return None
        owner, ep = found
        tpl = self.accounts[owner].templates[ep["templateId"]]
        return EndpointSpec(
            endpoint_id=endpoint_id,
            account_id=owner,
            version=ep["version"],
            workers_min=ep["workers"]["min"],
            workers_max=ep["workers"]["max"],
            idle_timeout_s=ep["workers"]["idleTimeout"],
            execution_timeout_ms=ep["timeout"],
            image=tpl["image"],
            env=dict(tpl["env"]),
            start_command=tuple(tpl["dockerStartCmd"]),
            volume_dirs={v: self.volume_dir(v) for v in ep["networkVolumes"]},
            worker_command=tuple(ep.get("workerCommand") or self.default_worker_command),
            worker_cwd=Path(ep["workerCwd"]) if ep.get("workerCwd") else None,
            gpu_count=(ep["gpu"] or {}).get("count", 1),
            endpoint_type=ep["type"],
        )

    # -- listener ------------------------------------------------------------------------------
    @property
    def listener(self) -> EndpointListener:
        """The listener told about endpoint changes (to chain another after it)."""
        return self._listener

    def set_listener(self, listener: EndpointListener | None) -> None:
        """Plug in the worker supervisor; it is told about every existing endpoint at once."""
        with self._lock:
            self._listener = listener or NullListener()
            specs = [self._spec_or_none(e) for a in self.accounts.values() for e in a.endpoints]
        for spec in specs:
            if spec is not None:
                self._listener.endpoint_upserted(spec)

    # -- persistence ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-ready data (no API keys: accounts are hashes)."""
        with self._lock:
            return {
                "format": SNAPSHOT_FORMAT,
                "defaultQuota": self.default_quota,
                "accounts": [a.snapshot() for a in self.accounts.values()],
                "catalog": self.catalog.snapshot(),
                "quirks": self.quirks.as_dict(),
            }

    def _serialized(self) -> str:
        return json.dumps(self.snapshot(), indent=1, sort_keys=True)

    def _save_or_restore(self, before: str) -> None:
        """Save the state; when the disk refuses, take the change back and say so."""
        try:
            self._save()
        except OSError as exc:
            self._apply(json.loads(before))
            raise BackendError(
                503,
                f"the local RunPod cannot save {self.state_dir / SNAPSHOT_NAME} "
                f"({exc.strerror or exc}); nothing was changed: free space there and retry",
            ) from exc

    def _save(self) -> None:
        data = self._serialized()
        target = self.state_dir / SNAPSHOT_NAME
        tmp = target.with_suffix(".json.incomplete")
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(target)
        _fsync_dir(self.state_dir)  # the rename itself survives a power loss too

    def _load(self) -> None:
        path = self.state_dir / SNAPSHOT_NAME
        if not path.exists():
            return
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise EmulatorError(f"{path}: cannot read it ({reason})", hint=SNAPSHOT_HINT) from exc
        try:
            data = json.loads(text)
            found = data.get("format") if isinstance(data, dict) else None
            if found != SNAPSHOT_FORMAT:
                raise EmulatorError(
                    f"{path} holds a snapshot in format {found}; "
                    f"this podkit reads format {SNAPSHOT_FORMAT}",
                    hint=SNAPSHOT_HINT,
                )
            self._apply(data)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmulatorError(
                f"{path} is not a podkit emulator snapshot ({type(exc).__name__}: {exc})",
                hint=SNAPSHOT_HINT,
            ) from exc

    def _apply(self, data: dict[str, Any]) -> None:
        self.accounts = {a["id"]: Account.restore(a) for a in data["accounts"]}
        self.catalog = Catalog.restore(data["catalog"])
        self.quirks = Quirks(**data["quirks"])
        self.default_quota = data["defaultQuota"]

    def reset(self, seed: int | None = None) -> None:
        """Forget every account and restore the default catalog, quirks and quota."""
        with self._mutation():
            for acc in self.accounts.values():
                for eid in acc.endpoints:
                    self._emit("delete", eid)
            self.accounts.clear()
            self.catalog = Catalog()
            self.quirks = Quirks()
            self.faults.clear(seed=0)
            self.rate_limits.set()
            self.keys.reset()
            self.default_quota = self._initial_quota
            self.ids.reseed(seed)
            shutil.rmtree(self.state_dir / "volumes", ignore_errors=True)

    def close(self) -> None:
        """Let another local RunPod use the state directory; remove it when the backend made
        one itself."""
        if self._state_lock is not None:
            self._state_lock.release()
        if self._own_tmp:
            shutil.rmtree(self.state_dir, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
