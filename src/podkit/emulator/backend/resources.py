"""Templates, network volumes and registry credentials."""

from __future__ import annotations

import copy
import shutil
from typing import Any

from podkit.emulator.backend.core import BackendCore
from podkit.emulator.backend.errors import not_found, rule
from podkit.emulator.backend.state import Account, Record, now_iso

VOLUME_MIN_GB, VOLUME_MAX_GB = 10, 4096  # runpod-api-v2.md §7.4, §7.6

# Defaults the backend applies under whatever each API generation fills in itself.
TEMPLATE_BASE: dict[str, Any] = {
    "dockerStartCmd": [],
    "dockerEntrypoint": [],
    "disk": 50,
    "ports": [],
    "env": {},
    "registry": None,
    "serverless": False,
    "public": False,
    "category": "NVIDIA",
    "startSsh": True,
    "startJupyter": True,
    "allowedCudaVersions": [],
    "volumeInGb": 0,
    "volumeMountPath": "/workspace",
    "readme": "",
    "mounts": {},
}


class ResourcesMixin(BackendCore):
    """Template, volume and registry operations (all by API key, all under the lock)."""

    # -- templates -------------------------------------------------------------------------
    def list_templates(
        self, api_key: str, *, include_bound: bool = False, include_public: bool = False
    ) -> list[Record]:
        """The account's templates; endpoint-bound copies and other accounts' public
        templates only when asked."""
        with self._lock:
            acc = self.account(api_key)
            own = [t for t in acc.templates.values() if include_bound or t["boundEndpoint"] is None]
            public = [self._as_public(t) for t in self._public_templates(acc)]
            return copy.deepcopy(own) + (public if include_public else [])

    def get_template(
        self, api_key: str, template_id: str, *, include_public: bool = False
    ) -> Record:
        """One template; with `include_public`, another account's public one too (read-only:
        updates and deletes still answer 404, as on the platform)."""
        with self._lock:
            return copy.deepcopy(
                self._readable_template(self.account(api_key), template_id, include_public)
            )

    def _public_templates(self, acc: Account) -> list[Record]:
        return [
            t
            for other in self.accounts.values()
            if other is not acc
            for t in other.templates.values()
            if t["public"]
        ]

    def _as_public(self, tpl: Record) -> Record:
        return {**copy.deepcopy(tpl), "registry": None}  # never another account's credential

    def _readable_template(self, acc: Account, template_id: str, include_public: bool) -> Record:
        if template_id not in acc.templates and include_public:
            for tpl in self._public_templates(acc):
                if tpl["id"] == template_id:
                    return self._as_public(tpl)
        return self._template(acc, template_id)

    def create_template(self, api_key: str, fields: dict[str, Any]) -> Record:
        """Create a template; names are unique per account, a registry id must exist."""
        with self._mutation():
            acc = self.account(api_key)
            self._check_template_name(acc, fields["name"], None)
            self._check_registry(acc, fields.get("registry"))
            tid = self._new_id("template")
            record = {**copy.deepcopy(TEMPLATE_BASE), **copy.deepcopy(fields)}
            record.update(id=tid, boundEndpoint=None, createdAt=now_iso())
            acc.templates[tid] = record
            return copy.deepcopy(record)

    def update_template(self, api_key: str, template_id: str, fields: dict[str, Any]) -> Record:
        """Change a template; endpoints linked to it (v1) get a new release."""
        with self._mutation():
            acc = self.account(api_key)
            tpl = self._template(acc, template_id)
            if "name" in fields:
                self._check_template_name(acc, fields["name"], template_id)
            self._check_registry(acc, fields.get("registry"))
            linked = [e for e in acc.endpoints.values() if e["templateId"] == template_id]
            before = {e["id"]: self._flat(acc, e) for e in linked}
            tpl.update(copy.deepcopy(fields))
            for ep in linked:
                self._record_release(acc, ep, before[ep["id"]])
            return copy.deepcopy(tpl)

    def delete_template(self, api_key: str, template_id: str) -> None:
        """Delete a template that no endpoint uses."""
        with self._mutation():
            acc = self.account(api_key)
            tpl = self._template(acc, template_id)
            users = sorted(e["id"] for e in acc.endpoints.values() if e["templateId"] == tpl["id"])
            if users:
                raise rule(
                    f"template '{template_id}' ({tpl['name']}) is in use by endpoint(s) "
                    f"{', '.join(users)}; delete those endpoints or point them at another "
                    "template first"
                )
            del acc.templates[template_id]

    def _template(self, acc: Account, template_id: str) -> Record:
        if template_id not in acc.templates:
            raise not_found("template", template_id, "/v2/templates (v1: /v1/templates)")
        return acc.templates[template_id]

    def _check_template_name(self, acc: Account, name: str, own_id: str | None) -> None:
        for tpl in acc.templates.values():
            if tpl["name"] == name and tpl["id"] != own_id:
                raise rule(
                    f"template name '{name}' is already used by template '{tpl['id']}' in this "
                    "account (names must be unique); choose another name or update that template"
                )

    def _check_registry(self, acc: Account, registry_id: str | None) -> None:
        if registry_id and registry_id not in acc.registries:
            raise not_found(
                "registry", registry_id, "/v2/registries (v1: /v1/containerregistryauth)"
            )

    # -- network volumes ---------------------------------------------------------------------
    def list_volumes(self, api_key: str) -> list[Record]:
        with self._lock:
            return copy.deepcopy(list(self.account(api_key).volumes.values()))

    def get_volume(self, api_key: str, volume_id: str) -> Record:
        with self._lock:
            return copy.deepcopy(self._volume(self.account(api_key), volume_id))

    def create_volume(
        self, api_key: str, *, name: str, size: int, data_center: str, type_: str | None = None
    ) -> Record:
        """Create a network volume (and its local directory) in a known data center."""
        _check_volume_size(size)
        with self._mutation():
            acc = self.account(api_key)
            dc = self.catalog.datacenters.get(data_center)
            if dc is None:
                raise rule(
                    f"data center '{data_center}' is unknown; pick one from GET "
                    "/v2/catalog/datacenters"
                )
            tiers = dc["networkVolumeTypes"]
            tier = type_ or (tiers[0] if tiers else "STANDARD")
            if tier not in tiers:
                raise rule(
                    f"data center '{data_center}' offers no {tier} network volumes "
                    f"(offers: {', '.join(tiers) or 'none'}); pick another data center"
                )
            vid = self._new_id("volume")
            record = {
                "id": vid,
                "name": name,
                "size": size,
                "dataCenter": data_center,
                "type": tier,
                "createdAt": now_iso(),
            }
            acc.volumes[vid] = record
            self.volume_dir(vid).mkdir(parents=True, exist_ok=True)
            return copy.deepcopy(record)

    def update_volume(
        self,
        api_key: str,
        volume_id: str,
        *,
        name: str | None = None,
        size: int | None = None,
        allow_shrink: bool = False,
    ) -> Record:
        """Rename or grow a volume; shrinking is refused (volumes are grow-only)."""
        if size is not None:
            _check_volume_size(size)
        with self._mutation():
            vol = self._volume(self.account(api_key), volume_id)
            if size is not None and size < vol["size"] and not allow_shrink:
                raise rule(
                    f"network volume '{volume_id}' is {vol['size']} GB and cannot shrink to "
                    f"{size} GB (volumes only grow); send a size of at least {vol['size']}"
                )
            if name is not None:
                vol["name"] = name
            if size is not None:
                vol["size"] = size
            return copy.deepcopy(vol)

    def delete_volume(self, api_key: str, volume_id: str) -> None:
        """Delete a volume no endpoint uses, with its local directory."""
        with self._mutation():
            acc = self.account(api_key)
            self._volume(acc, volume_id)
            users = sorted(
                e["id"] for e in acc.endpoints.values() if volume_id in e["networkVolumes"]
            )
            if users:
                raise rule(
                    f"network volume '{volume_id}' is attached to endpoint(s) {', '.join(users)}; "
                    "detach it (update networkVolumes) or delete those endpoints first"
                )
            del acc.volumes[volume_id]
            shutil.rmtree(self.volume_dir(volume_id), ignore_errors=True)

    def _volume(self, acc: Account, volume_id: str) -> Record:
        if volume_id not in acc.volumes:
            raise not_found(
                "network volume", volume_id, "/v2/network-volumes (v1: /v1/networkvolumes)"
            )
        return acc.volumes[volume_id]

    # -- registry credentials ----------------------------------------------------------------
    def list_registries(self, api_key: str) -> list[Record]:
        with self._lock:
            return copy.deepcopy(list(self.account(api_key).registries.values()))

    def get_registry(self, api_key: str, registry_id: str) -> Record:
        with self._lock:
            acc = self.account(api_key)
            self._check_registry(acc, registry_id)
            return copy.deepcopy(acc.registries[registry_id])

    def create_registry(self, api_key: str, *, name: str) -> Record:
        """Record a registry credential by name; the secret parts are never stored."""
        with self._mutation():
            acc = self.account(api_key)
            if any(r["name"] == name for r in acc.registries.values()):
                raise rule(f"registry credential name '{name}' is already used; choose another")
            rid = self._new_id("registry")
            acc.registries[rid] = {"id": rid, "name": name}
            return copy.deepcopy(acc.registries[rid])

    def delete_registry(self, api_key: str, registry_id: str) -> None:
        """Delete a credential; templates that used it silently lose it (as documented)."""
        with self._mutation():
            acc = self.account(api_key)
            self._check_registry(acc, registry_id)
            del acc.registries[registry_id]
            for tpl in acc.templates.values():
                if tpl["registry"] == registry_id:
                    tpl["registry"] = None

    # -- provided by the endpoints mixin -----------------------------------------------------
    def _flat(self, acc: Account, ep: Record) -> dict[str, Any]:
        raise NotImplementedError

    def _record_release(self, acc: Account, ep: Record, before: dict[str, Any]) -> None:
        raise NotImplementedError


def _check_volume_size(size: int) -> None:
    """The platform's bounds, whichever API asks: the v2 document's 10-4096 GB (v1's document
    allows 0, but a volume under 10 GB would then break every v2 view of it)."""
    if not VOLUME_MIN_GB <= size <= VOLUME_MAX_GB:
        raise rule(
            f"network volume size {size} GB is outside {VOLUME_MIN_GB}-{VOLUME_MAX_GB} GB; "
            f"send a size in that range (larger volumes go through RunPod support)"
        )
