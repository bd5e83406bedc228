"""REST v1 control plane: `/v1/endpoints`, templates, network volumes, registry auths.

v1 lists are bare arrays, creates answer 200, every update has a `POST .../update` synonym, and
errors are `{"message": ...}` (with `problems` when a body breaks the schema).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from podkit.emulator.backend import Backend, BackendError
from podkit.emulator.backend.catalog import DATACENTER_IDS
from podkit.emulator.http.common import Call, Generation, json_response, no_content
from podkit.emulator.http.v1_views import (
    DEFAULT_GPU_TYPES,
    TEMPLATE_DEFAULTS,
    endpoint_out,
    gpu_types_to_pools,
    template_in,
    template_out,
    volume_out,
)
from podkit.emulator.openapi import V1, load
from podkit.emulator.openapi.messages import misplaced_hint

PREFIX = "/v1"


class V1Generation(Generation):
    """v1 errors: `{"message"}` (or the live `{"error", "problems"}` shape as a quirk)."""

    def error(self, status: int, message: str, problems: list[str] | None = None) -> Response:
        body: dict[str, Any]
        if status == 500 and self.backend.quirks.v1_volume_500s:
            body = {"error": message, "status": 500}
        elif self.backend.quirks.v1_live_error_shape:
            body = {"error": message, "problems": problems or []}
        else:
            body = {"message": message}
            if problems:
                body["problems"] = problems
        return JSONResponse(body, status_code=status)

    def unauthorized(self) -> Response:
        return self.error(401, "Unauthorized. Send your API key as 'Authorization: Bearer <key>'.")

    def violations(self, method: str, template: str, body: Any) -> list[str]:
        problems = [_v1_wording(v.message) for v in self.doc.check_request(method, template, body)]
        ref = self.doc.request_ref(method, template)
        if ref and isinstance(body, dict):
            known = set(self.doc.resolve(ref).get("properties", {}))
            problems += [
                f"key provided in request body which is not in input schema: '{k}'"
                + misplaced_hint(template, k)
                for k in body
                if k not in known
            ]
        return problems

    def validation_error(self, problems: list[str]) -> Response:
        return self.error(400, "Invalid request body: " + "; ".join(problems), problems)

    def query_error(self, problems: list[str]) -> Response:
        return self.error(400, "Invalid query: " + "; ".join(problems), problems)


def _v1_wording(message: str) -> str:
    """v1 speaks of fields, not JSON paths: `$.env: ...` -> `env: ...`."""
    if message.startswith("$: "):
        return message[3:]
    return message[2:] if message.startswith("$.") else message


# -- endpoints -------------------------------------------------------------------------------
def _view(c: Call, endpoint_id: str) -> dict[str, Any]:
    b = c.backend
    return endpoint_out(
        b,
        b.account(c.key).id,
        b.get_endpoint(c.key, endpoint_id),
        b.endpoint_template(c.key, endpoint_id),
        c.query,
    )


def list_endpoints(c: Call) -> Response:
    return json_response([_view(c, ep["id"]) for ep in c.backend.list_endpoints(c.key)])


def get_endpoint(c: Call) -> Response:
    return json_response(_view(c, c.params["endpointId"]))


def create_endpoint(c: Call) -> Response:
    b: dict[str, Any] = c.body
    tpl = c.backend.get_template(c.key, b["templateId"])
    cpu = b.get("computeType") == "CPU" and not c.backend.quirks.v1_ignore_cpu_on_create
    flashboot = b.get("flashboot")
    if flashboot is False and c.backend.quirks.v1_ignore_flashboot_false_on_create:
        flashboot = True
    fields: dict[str, Any] = {
        "name": b.get("name") or tpl["name"],
        "type": "QUEUE",
        "gpu": None if cpu else _gpu(c, b, create=True),
        "cpu": _cpu(b) if cpu else None,
        "workers": {
            "min": b.get("workersMin", 0),
            "max": b.get("workersMax", 3),
            "idleTimeout": b.get("idleTimeout", 5),
        },
        "scaling": {"type": b.get("scalerType", "QUEUE_DELAY"), "value": b.get("scalerValue", 4)},
        "dataCenterIds": b.get("dataCenterIds", list(DATACENTER_IDS)),
        "networkVolumes": _volumes(b) or [],
        "timeout": b.get("executionTimeoutMs", 600000),
        "flashboot": "FLASHBOOT" if flashboot else "OFF",
    }
    ep = c.backend.create_endpoint(c.key, fields, template_id=tpl["id"], link=True)
    return json_response(_view(c, ep["id"]))


def update_endpoint(c: Call) -> Response:
    b: dict[str, Any] = c.body
    eid = c.params["endpointId"]
    current = c.backend.get_endpoint(c.key, eid)
    fields: dict[str, Any] = {}
    for src, dst in (
        ("name", "name"),
        ("dataCenterIds", "dataCenterIds"),
        ("executionTimeoutMs", "timeout"),
    ):
        if src in b:
            fields[dst] = b[src]
    workers = {
        d: b[s]
        for s, d in (("workersMin", "min"), ("workersMax", "max"), ("idleTimeout", "idleTimeout"))
        if s in b
    }
    scaling = {d: b[s] for s, d in (("scalerType", "type"), ("scalerValue", "value")) if s in b}
    fields.update({k: v for k, v in (("workers", workers), ("scaling", scaling)) if v})
    if "flashboot" in b:
        fields["flashboot"] = "FLASHBOOT" if b["flashboot"] else "OFF"
    volumes = _volumes(b)
    if volumes is not None:
        fields["networkVolumes"] = volumes
    if current.get("gpu") is not None:
        gpu = _gpu(c, b, create=False)
        if gpu:
            fields["gpu"] = gpu
    elif "cpuFlavorIds" in b or "vcpuCount" in b:
        fields["cpu"] = _cpu(b, current["cpu"])
    c.backend.update_endpoint(c.key, eid, fields, template_id=b.get("templateId"), link=True)
    return json_response(_view(c, eid))


def delete_endpoint(c: Call) -> Response:
    c.backend.delete_endpoint(c.key, c.params["endpointId"])
    return no_content()


def _gpu(c: Call, b: dict[str, Any], *, create: bool) -> dict[str, Any]:
    gpu: dict[str, Any] = {}
    if "gpuTypeIds" in b or create:
        pools, excluded = gpu_types_to_pools(c.backend, b.get("gpuTypeIds") or DEFAULT_GPU_TYPES)
        gpu.update(pools=pools, excludedTypes=excluded)
    for src, dst in (
        ("gpuCount", "count"),
        ("allowedCudaVersions", "allowedCudaVersions"),
        ("minCudaVersion", "minCudaVersion"),
    ):
        if src in b:
            gpu[dst] = b[src]
    if create:
        gpu = {"count": 1, "allowedCudaVersions": [], "minCudaVersion": None, **gpu}
    return gpu


def _cpu(b: dict[str, Any], current: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    flavors = b.get("cpuFlavorIds") or [c["id"] for c in current or []] or ["cpu3c"]
    vcpu = b.get("vcpuCount") or (current[0]["vcpuCount"] if current else 2)
    return [{"id": f, "vcpuCount": vcpu} for f in flavors]


def _volumes(b: dict[str, Any]) -> list[str] | None:
    if "networkVolumeId" not in b and "networkVolumeIds" not in b:
        return None
    ids = ([b["networkVolumeId"]] if b.get("networkVolumeId") else []) + list(
        b.get("networkVolumeIds") or []
    )
    return list(dict.fromkeys(ids))


# -- templates -------------------------------------------------------------------------------
def list_templates(c: Call) -> Response:
    bound = c.query.get("includeEndpointBoundTemplates", "").lower() == "true"
    public = c.query.get("includePublicTemplates", "").lower() == "true"
    templates = c.backend.list_templates(c.key, include_bound=bound, include_public=public)
    return json_response([template_out(t) for t in templates])


def get_template(c: Call) -> Response:
    public = c.query.get("includePublicTemplates", "").lower() == "true"
    tpl = c.backend.get_template(c.key, c.params["templateId"], include_public=public)
    return json_response(template_out(tpl))


def create_template(c: Call) -> Response:
    fields = {**TEMPLATE_DEFAULTS, **template_in(c.body)}
    return json_response(template_out(c.backend.create_template(c.key, fields)))


def update_template(c: Call) -> Response:
    tpl = c.backend.update_template(c.key, c.params["templateId"], template_in(c.body))
    return json_response(template_out(tpl))


def delete_template(c: Call) -> Response:
    c.backend.delete_template(c.key, c.params["templateId"])
    return no_content()


# -- network volumes -------------------------------------------------------------------------
def list_volumes(c: Call) -> Response:
    return json_response([volume_out(v) for v in c.backend.list_volumes(c.key)])


def get_volume(c: Call) -> Response:
    return json_response(volume_out(c.backend.get_volume(c.key, c.params["networkVolumeId"])))


def create_volume(c: Call) -> Response:
    b = c.body
    with _live_500s(c, 400):
        vol = c.backend.create_volume(
            c.key, name=b["name"], size=b["size"], data_center=b["dataCenterId"]
        )
    return json_response(volume_out(vol))


def update_volume(c: Call) -> Response:
    vol = c.backend.update_volume(
        c.key,
        c.params["networkVolumeId"],
        name=c.body.get("name"),
        size=c.body.get("size"),
        allow_shrink=c.backend.quirks.v1_accept_volume_shrink,
    )
    return json_response(volume_out(vol))


def delete_volume(c: Call) -> Response:
    with _live_500s(c, 404):
        c.backend.delete_volume(c.key, c.params["networkVolumeId"])
    return no_content()


@contextlib.contextmanager
def _live_500s(c: Call, status: int) -> Iterator[None]:
    """With the `v1_volume_500s` quirk, these refusals come back as the live 500s."""
    try:
        yield
    except BackendError as exc:
        if exc.status != status or not c.backend.quirks.v1_volume_500s:
            raise
        raise BackendError(500, exc.message) from exc


# -- container registry auths ----------------------------------------------------------------
def list_registries(c: Call) -> Response:
    return json_response(c.backend.list_registries(c.key))


def get_registry(c: Call) -> Response:
    return json_response(c.backend.get_registry(c.key, c.params["containerRegistryAuthId"]))


def create_registry(c: Call) -> Response:
    return json_response(c.backend.create_registry(c.key, name=c.body["name"]))


def delete_registry(c: Call) -> Response:
    c.backend.delete_registry(c.key, c.params["containerRegistryAuthId"])
    return no_content()


Handler = Callable[[Call], Response]
EP, TPL = "/endpoints/{endpointId}", "/templates/{templateId}"
VOL, REG = "/networkvolumes/{networkVolumeId}", "/containerregistryauth/{containerRegistryAuthId}"
TABLE: list[tuple[str, str, Handler]] = [
    ("GET", "/endpoints", list_endpoints),
    ("POST", "/endpoints", create_endpoint),
    ("GET", EP, get_endpoint),
    ("PATCH", EP, update_endpoint),
    ("POST", f"{EP}/update", update_endpoint),
    ("DELETE", EP, delete_endpoint),
    ("GET", "/templates", list_templates),
    ("POST", "/templates", create_template),
    ("GET", TPL, get_template),
    ("PATCH", TPL, update_template),
    ("POST", f"{TPL}/update", update_template),
    ("DELETE", TPL, delete_template),
    ("GET", "/networkvolumes", list_volumes),
    ("POST", "/networkvolumes", create_volume),
    ("GET", VOL, get_volume),
    ("PATCH", VOL, update_volume),
    ("POST", f"{VOL}/update", update_volume),
    ("DELETE", VOL, delete_volume),
    ("GET", "/containerregistryauth", list_registries),
    ("POST", "/containerregistryauth", create_registry),
    ("GET", REG, get_registry),
    ("DELETE", REG, delete_registry),
]


def routes(backend: Backend) -> list[Route]:
    """Every v1 control-plane route under `/v1`, one Route per path with its methods."""
    gen = V1Generation(load(V1), backend)
    by_path: dict[str, dict[str, Handler]] = {}
    for method, path, handler in TABLE:
        by_path.setdefault(path, {})[method] = handler
    result = []
    for path, handlers in by_path.items():
        endpoints = {m: gen.route(m, path, h) for m, h in handlers.items()}
        result.append(Route(PREFIX + path, _dispatch(endpoints), methods=list(handlers)))
    return result


def _dispatch(endpoints: dict[str, Callable[[Request], Awaitable[Response]]]) -> Any:
    async def dispatch(request: Request) -> Response:
        return await endpoints[request.method](request)

    return dispatch
