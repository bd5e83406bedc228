"""Serverless endpoints: one record per endpoint plus the template holding its container config.

An endpoint always points at a template: a user template it is linked to (v1 creates, where
template edits roll out to the endpoint) or a bound copy it owns (v2 creates, and v2 container
edits on a linked endpoint fork one). Every change that alters the flat view below bumps the
endpoint's version and records a release whose `diff[].field` uses v2 dotted names.
"""

from __future__ import annotations

import copy
import shlex
from typing import Any

from podkit.emulator.backend.errors import BackendError, not_found, rule
from podkit.emulator.backend.resources import TEMPLATE_BASE, ResourcesMixin
from podkit.emulator.backend.state import Account, Record, now_iso

CONTAINER_FIELDS = ("image", "dockerStartCmd", "env", "disk", "ports", "registry")
MERGED = ("workers", "scaling")


class EndpointsMixin(ResourcesMixin):
    """Endpoint operations, the platform rules and the release log."""

    def list_endpoints(self, api_key: str) -> list[Record]:
        with self._lock:
            return copy.deepcopy(list(self.account(api_key).endpoints.values()))

    def get_endpoint(self, api_key: str, endpoint_id: str) -> Record:
        with self._lock:
            return copy.deepcopy(self._endpoint(self.account(api_key), endpoint_id))

    def endpoint_template(self, api_key: str, endpoint_id: str) -> Record:
        """The template an endpoint runs (linked or bound)."""
        with self._lock:
            acc = self.account(api_key)
            return copy.deepcopy(acc.templates[self._endpoint(acc, endpoint_id)["templateId"]])

    def create_endpoint(
        self,
        api_key: str,
        fields: dict[str, Any],
        *,
        container: dict[str, Any] | None = None,
        template_id: str | None = None,
        link: bool = False,
    ) -> Record:
        """Create an endpoint. `link` keeps a live link to `template_id` (v1); otherwise the
        template (if any) and `container` are copied into a bound template (v2)."""
        with self._mutation():
            acc = self.account(api_key)
            eid = self._new_id("endpoint")
            ep: Record = {
                "id": eid,
                "version": 1,
                "createdAt": now_iso(),
                "releases": [],
                "workerCommand": None,
                "workerCwd": None,
                **copy.deepcopy(fields),
            }
            if link:
                ep["templateId"] = self._linkable_template(acc, template_id or "")["id"]
            else:
                base = self._copy_template(acc, template_id, ep) if template_id else {}
                ep["templateId"] = self._bind(acc, ep, base, container or {})
            try:
                self._validate(acc, ep, None)
            except BackendError:
                if not link:
                    del acc.templates[ep["templateId"]]
                raise
            acc.endpoints[eid] = ep
            ep["releases"].append(self._release(acc, 1, []))
            self._emit("upsert", eid)
            return copy.deepcopy(ep)

    def update_endpoint(
        self,
        api_key: str,
        endpoint_id: str,
        fields: dict[str, Any],
        *,
        container: dict[str, Any] | None = None,
        template_id: str | None = None,
        link: bool = False,
    ) -> Record:
        """Apply a partial update; `gpu`, `workers`, `scaling` merge per member."""
        with self._mutation():
            acc = self.account(api_key)
            ep = self._endpoint(acc, endpoint_id)
            before = self._flat(acc, ep)
            saved = copy.deepcopy(ep)
            saved_templates = copy.deepcopy(acc.templates)
            try:
                self._apply_update(acc, ep, fields, container, template_id, link)
                self._validate(acc, ep, endpoint_id)
            except BackendError:
                ep.clear()
                ep.update(saved)
                acc.templates = saved_templates
                raise
            self._record_release(acc, ep, before)
            return copy.deepcopy(ep)

    def delete_endpoint(self, api_key: str, endpoint_id: str) -> None:
        """Delete an endpoint and its bound template (never a linked user template)."""
        with self._mutation():
            acc = self.account(api_key)
            ep = self._endpoint(acc, endpoint_id)
            if self.quirks.require_zero_workers_before_delete and (
                ep["workers"]["min"] or ep["workers"]["max"]
            ):
                raise rule(
                    f"endpoint '{endpoint_id}' still has workers (min {ep['workers']['min']}, "
                    f"max {ep['workers']['max']}); set both to 0, then delete it"
                )
            tpl = acc.templates.get(ep["templateId"])
            if tpl is not None and tpl["boundEndpoint"] == endpoint_id:
                del acc.templates[tpl["id"]]
            del acc.endpoints[endpoint_id]
            self._emit("delete", endpoint_id)

    def set_worker_command(
        self, endpoint_id: str, command: list[str] | None, cwd: str | None = None
    ) -> None:
        """How this endpoint's local workers start (None: the default `python -m podkit.worker`)
        and the directory they run in (None: the local RunPod's worker directory)."""
        with self._mutation():
            found = self.find_endpoint(endpoint_id)
            if found is None:
                raise not_found("endpoint", endpoint_id, "/v2/serverless")
            found[1]["workerCommand"] = list(command) if command else None
            found[1]["workerCwd"] = cwd if command else None
            self._emit("upsert", endpoint_id)

    def set_quota(self, quota: int, api_key: str | None = None) -> None:
        """The worker quota of one account, or the default of every account."""
        with self._mutation():
            if api_key is None:
                self.default_quota = quota
            else:
                self.account(api_key).quota = quota

    # -- internals ---------------------------------------------------------------------------
    def _endpoint(self, acc: Account, endpoint_id: str) -> Record:
        if endpoint_id not in acc.endpoints:
            raise not_found("endpoint", endpoint_id, "/v2/serverless (v1: /v1/endpoints)")
        return acc.endpoints[endpoint_id]

    def _linkable_template(self, acc: Account, template_id: str) -> Record:
        tpl = self._template(acc, template_id)
        if not tpl["serverless"]:
            raise rule(
                f"template '{template_id}' is a pod template (isServerless false); create a "
                "template with isServerless true for endpoints"
            )
        return tpl

    def _copy_template(self, acc: Account, template_id: str, ep: Record) -> dict[str, Any]:
        tpl = self._readable_template(acc, template_id, True)  # v2 may copy public templates
        if not tpl["serverless"]:
            raise BackendError(
                422,
                f"templateId '{template_id}' is not a serverless template; set serverless true "
                "on it or pick a serverless template",
            )
        gpu = ep.get("gpu")
        if gpu is not None and "allowedCudaVersions" not in gpu and not gpu.get("minCudaVersion"):
            gpu["allowedCudaVersions"] = list(tpl["allowedCudaVersions"])
        return {k: copy.deepcopy(tpl[k]) for k in CONTAINER_FIELDS}

    def _bind(self, acc: Account, ep: Record, base: dict[str, Any], body: dict[str, Any]) -> str:
        """Create the endpoint-owned template from `base` overlaid with `body` (env per key)."""
        fields = {**base, **body, "env": {**base.get("env", {}), **body.get("env", {})}}
        self._check_registry(acc, fields.get("registry"))
        tid = self._new_id("template")
        suffix = self._new_id("template")[:7]
        acc.templates[tid] = {
            **copy.deepcopy(TEMPLATE_BASE),
            **copy.deepcopy(fields),
            "id": tid,
            "name": f"{ep['name']}__template__{suffix}",
            "serverless": True,
            "boundEndpoint": ep["id"],
            "createdAt": now_iso(),
        }
        return tid

    def _apply_update(
        self,
        acc: Account,
        ep: Record,
        fields: dict[str, Any],
        container: dict[str, Any] | None,
        template_id: str | None,
        link: bool,
    ) -> None:
        self._apply_fields(ep, fields)
        if template_id and link:
            old = acc.templates.get(ep["templateId"])
            ep["templateId"] = self._linkable_template(acc, template_id)["id"]
            if old is not None and old["boundEndpoint"] == ep["id"]:
                del acc.templates[old["id"]]
            return
        if template_id:
            base = self._copy_template(acc, template_id, ep)
            container = {
                **base,
                **(container or {}),
                "env": {**base["env"], **(container or {}).get("env", {})},
            }
        if container:
            tpl = self._own_template(acc, ep)
            self._check_registry(acc, container.get("registry"))
            tpl.update(copy.deepcopy(container))

    def _apply_fields(self, ep: Record, fields: dict[str, Any]) -> None:
        for key, value in copy.deepcopy(fields).items():
            if key == "gpu":
                ep["gpu"] = self._merge_gpu(ep, value)
            elif key in MERGED and isinstance(ep.get(key), dict):
                ep[key] = {**ep[key], **value}
            else:
                ep[key] = value

    def _merge_gpu(self, ep: Record, patch: dict[str, Any] | None) -> dict[str, Any] | None:
        if patch is None or ep.get("gpu") is None:
            return patch
        merged = {**ep["gpu"], **patch}
        if "pools" in patch and "excludedTypes" not in patch:
            merged["excludedTypes"] = []  # pools and exclusions are one unit
        if merged.get("minCudaVersion") == "":
            merged["minCudaVersion"] = None
        return merged

    def _own_template(self, acc: Account, ep: Record) -> Record:
        """The endpoint's bound template, forking a copy when it links a shared one."""
        tpl = acc.templates[ep["templateId"]]
        if tpl["boundEndpoint"] == ep["id"]:
            return tpl
        base = {k: copy.deepcopy(tpl[k]) for k in CONTAINER_FIELDS}
        ep["templateId"] = self._bind(acc, ep, base, {})
        return acc.templates[ep["templateId"]]

    def _validate(self, acc: Account, ep: Record, own_id: str | None) -> None:
        """The platform rules a schema cannot express (400), missing references (404)."""
        self._validate_compute(ep)
        workers = ep["workers"]
        if workers["min"] > workers["max"]:
            raise rule(
                f"workers.min ({workers['min']}) is greater than workers.max ({workers['max']}); "
                "raise max or lower min"
            )
        if ep["type"] == "LOAD_BALANCER" and ep["scaling"]["type"] != "REQUEST_COUNT":
            raise rule("a LOAD_BALANCER endpoint scales on REQUEST_COUNT only; change scaling.type")
        self._validate_volumes(acc, ep)
        self._check_quota(acc, own_id, workers["max"])

    def _validate_compute(self, ep: Record) -> None:
        gpu, cpu = ep.get("gpu"), ep.get("cpu")
        if (gpu is None) == (cpu is None):
            raise rule("an endpoint needs exactly one of gpu or cpu; send one and drop the other")
        if gpu is not None:
            self._validate_gpu(gpu)
        for entry in cpu or []:
            flavor = self.catalog.cpus.get(entry["id"])
            low, high = (flavor["vcpu"]["min"], flavor["vcpu"]["max"]) if flavor else (0, 0)
            n = entry["vcpuCount"]
            if not flavor or n < low or n > high or n & (n - 1):
                raise rule(
                    f"cpu flavor '{entry['id']}' with vcpuCount {n} is not offered; use one of "
                    f"{', '.join(self.catalog.cpus)} (GET /v2/catalog/cpus) with a power of two "
                    "in its vcpu range"
                )

    def _validate_gpu(self, gpu: dict[str, Any]) -> None:
        pools = self.catalog.pools()
        unknown = [p for p in gpu["pools"] if p not in pools]
        if unknown:
            raise rule(
                f"gpu.pools: unknown pool(s) {', '.join(unknown)}; pools come from the 'pool' "
                f"field of GET /v2/catalog/gpus ({', '.join(sorted(pools))})"
            )
        members = {t for p in gpu["pools"] for t in pools[p]}
        excluded = set(gpu.get("excludedTypes") or [])
        stray = sorted(excluded - members)
        if stray:
            raise rule(f"gpu.excludedTypes: {', '.join(stray)} not in the selected pools")
        if not members - excluded:
            raise rule("gpu.excludedTypes excludes every GPU type of the selected pools")
        if gpu.get("allowedCudaVersions") and gpu.get("minCudaVersion"):
            raise rule(
                "gpu.allowedCudaVersions and gpu.minCudaVersion cannot both be set; clear one "
                '(allowedCudaVersions: [] or minCudaVersion: "")'
            )

    def _validate_volumes(self, acc: Account, ep: Record) -> None:
        seen: dict[str, str] = {}
        for vid in ep["networkVolumes"]:
            vol = self._volume(acc, vid)
            dc = vol["dataCenter"]
            if ep["dataCenterIds"] and dc not in ep["dataCenterIds"]:
                raise rule(
                    f"network volume '{vid}' is in data center {dc}, which is not in the "
                    f"endpoint's dataCenterIds ({', '.join(ep['dataCenterIds'])}); add {dc} to "
                    "dataCenterIds or attach a volume from one of them"
                )
            if dc in seen:
                raise rule(
                    f"network volumes '{seen[dc]}' and '{vid}' are both in {dc}; attach at most "
                    "one volume per data center"
                )
            seen[dc] = vid

    def _flat(self, acc: Account, ep: Record) -> dict[str, Any]:
        tpl = acc.templates[ep["templateId"]]
        flat: dict[str, Any] = {"name": ep["name"]}
        if tpl["boundEndpoint"] is None:
            flat["templateId"] = tpl["id"]
        flat.update(
            image=tpl["image"],
            args=shlex.join(tpl["dockerStartCmd"]),
            env=tpl["env"],
            disk=tpl["disk"],
            ports=tpl["ports"],
            registry=tpl["registry"],
        )
        for key, value in (ep.get("gpu") or {}).items():
            flat[f"gpu.{key}"] = value
        flat["cpu"] = ep.get("cpu")
        for group in ("workers", "scaling"):
            for key, value in ep[group].items():
                flat[f"{group}.{key}"] = value
        for key in ("dataCenterIds", "networkVolumes", "timeout", "flashboot"):
            flat[key] = ep[key]
        return copy.deepcopy(flat)

    def _record_release(self, acc: Account, ep: Record, before: dict[str, Any]) -> None:
        after = self._flat(acc, ep)
        diff = [
            {"field": k, "old": before.get(k), "new": after.get(k)}
            for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k)
        ]
        if not diff:
            return
        ep["version"] += 1
        ep["releases"].insert(0, self._release(acc, ep["version"], diff))
        self._emit("upsert", ep["id"])

    def _release(self, acc: Account, version: int, diff: list[dict[str, Any]]) -> Record:
        return {
            "id": self._new_id("release"),
            "version": version,
            "source": "MANUAL",
            "buildId": None,
            "createdByUserId": f"user_{acc.id}",
            "createdAt": now_iso(),
            "diff": diff,
        }
