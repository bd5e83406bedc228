"""REST v2 control plane: `/v2/serverless`, templates, network volumes, registries, catalog."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from podkit.emulator.backend import Backend, BackendError
from podkit.emulator.backend.errors import rule
from podkit.emulator.backend.ratelimit import Verdict
from podkit.emulator.http import v2_catalog, v2_workers
from podkit.emulator.http.common import Call, Generation, json_response, no_content, problem
from podkit.emulator.http.context import Context
from podkit.emulator.http.v2_views import (
    container_in,
    endpoint_out,
    gpu_in,
    scaling_in,
    template_in,
    template_out,
    volume_out,
)
from podkit.emulator.openapi import V2, load


class V2Generation(Generation):
    """v2 errors: RFC 9457 problem details, 422 with `errors[]` for schema violations."""

    def error(self, status: int, message: str, problems: list[str] | None = None) -> Response:
        return problem(status, message, problems)

    def unauthorized(self) -> Response:
        return problem(401, "missing bearer token")

    def validation_error(self, problems: list[str]) -> Response:
        return problem(422, "Request validation failed.", problems)

    def admit(self, key: str) -> Verdict | None:
        return self.backend.rate_limits.check(self.backend.keys.account_of(key))


# -- serverless endpoints --------------------------------------------------------------------
def list_endpoints(c: Call) -> Response:
    eps = [_endpoint_view(c, ep["id"]) for ep in c.backend.list_endpoints(c.key)]
    return json_response({"endpoints": eps})


def get_endpoint(c: Call) -> Response:
    return json_response(_endpoint_view(c, c.params["id"]))


def create_endpoint(c: Call) -> Response:
    body: dict[str, Any] = c.body
    workers = {"min": 0, "max": 3, "idleTimeout": 10, **body.get("workers", {})}
    scaling = scaling_in(body["scaling"])
    _check_idle_timeout(body["type"], scaling, body.get("workers", {}))
    fields: dict[str, Any] = {
        "name": body["name"],
        "type": body["type"],
        "scaling": scaling,
        "workers": workers,
        "gpu": gpu_in(body["gpu"], create=True) if "gpu" in body else None,
        "cpu": body.get("cpu"),
        "dataCenterIds": body.get("dataCenterIds", []),
        "networkVolumes": body.get("networkVolumes", []),
        "timeout": body.get("timeout", 300000),
        "flashboot": body.get("flashboot", "OFF"),
    }
    ep = c.backend.create_endpoint(
        c.key, fields, container=container_in(body), template_id=body.get("templateId")
    )
    return json_response(_endpoint_view(c, ep["id"]), 201)


def update_endpoint(c: Call) -> Response:
    body: dict[str, Any] = c.body
    current = c.backend.get_endpoint(c.key, c.params["id"])
    family = "gpu" if current.get("gpu") is not None else "cpu"
    other = "cpu" if family == "gpu" else "gpu"
    if other in body:
        raise rule(
            f"endpoint '{current['id']}' is a {family.upper()} endpoint and its compute "
            f"family cannot change; drop '{other}' or create a new endpoint"
        )
    fields: dict[str, Any] = {
        k: body[k]
        for k in (
            "name",
            "cpu",
            "dataCenterIds",
            "networkVolumes",
            "timeout",
            "flashboot",
            "workers",
        )
        if k in body
    }
    if "gpu" in body:
        fields["gpu"] = gpu_in(body["gpu"], create=False)
    if "scaling" in body:
        fields["scaling"] = scaling_in(body["scaling"])
    scaling: dict[str, Any] = fields.get("scaling") or current["scaling"]
    _check_idle_timeout(current["type"], scaling, body.get("workers", {}))
    c.backend.update_endpoint(
        c.key,
        c.params["id"],
        fields,
        container=container_in(body),
        template_id=body.get("templateId"),
    )
    return json_response(_endpoint_view(c, c.params["id"]))


def delete_endpoint(c: Call) -> Response:
    c.backend.delete_endpoint(c.key, c.params["id"])
    return no_content()


def _check_idle_timeout(type_: str, scaling: dict[str, Any], workers: dict[str, Any]) -> None:
    if type_ == "QUEUE" and scaling["type"] == "REQUEST_COUNT" and "idleTimeout" in workers:
        raise BackendError(
            400,
            "workers.idleTimeout does not apply to a QUEUE endpoint scaling on REQUEST_COUNT; "
            "drop workers.idleTimeout or scale on QUEUE_DELAY",
        )


def _endpoint_view(c: Call, endpoint_id: str) -> dict[str, Any]:
    ep = c.backend.get_endpoint(c.key, endpoint_id)
    tpl = c.backend.endpoint_template(c.key, endpoint_id)
    return endpoint_out(ep, tpl, c.origin, c.backend.catalog)


# -- templates -------------------------------------------------------------------------------
def list_templates(c: Call) -> Response:
    return json_response({"templates": [template_out(t) for t in c.backend.list_templates(c.key)]})


def get_template(c: Call) -> Response:
    tpl = c.backend.get_template(c.key, c.params["id"], include_public=True)
    return json_response(template_out(tpl))


def create_template(c: Call) -> Response:
    return json_response(template_out(c.backend.create_template(c.key, template_in(c.body))), 201)


def update_template(c: Call) -> Response:
    tpl = c.backend.update_template(c.key, c.params["id"], template_in(c.body))
    return json_response(template_out(tpl))


def delete_template(c: Call) -> Response:
    c.backend.delete_template(c.key, c.params["id"])
    return no_content()


# -- network volumes -------------------------------------------------------------------------
def list_volumes(c: Call) -> Response:
    vols = [volume_out(v) for v in c.backend.list_volumes(c.key)]
    return json_response({"networkVolumes": vols})


def get_volume(c: Call) -> Response:
    return json_response(volume_out(c.backend.get_volume(c.key, c.params["id"])))


def create_volume(c: Call) -> Response:
    b = c.body
    vol = c.backend.create_volume(
        c.key, name=b["name"], size=b["size"], data_center=b["dataCenter"], type_=b.get("type")
    )
    return json_response(volume_out(vol), 201)


def update_volume(c: Call) -> Response:
    b = c.body
    vol = c.backend.update_volume(c.key, c.params["id"], name=b.get("name"), size=b.get("size"))
    return json_response(volume_out(vol))


def delete_volume(c: Call) -> Response:
    c.backend.delete_volume(c.key, c.params["id"])
    return no_content()


# -- registries ------------------------------------------------------------------------------
def list_registries(c: Call) -> Response:
    return json_response({"registries": c.backend.list_registries(c.key)})


def get_registry(c: Call) -> Response:
    return json_response(c.backend.get_registry(c.key, c.params["id"]))


def create_registry(c: Call) -> Response:
    return json_response(c.backend.create_registry(c.key, name=c.body["name"]), 201)


def delete_registry(c: Call) -> Response:
    c.backend.delete_registry(c.key, c.params["id"])
    return no_content()


Handler = Callable[[Call], Response]
TABLE: list[tuple[str, str, Handler]] = [
    ("GET", "/v2/serverless", list_endpoints),
    ("POST", "/v2/serverless", create_endpoint),
    ("GET", "/v2/serverless/{id}", get_endpoint),
    ("PATCH", "/v2/serverless/{id}", update_endpoint),
    ("DELETE", "/v2/serverless/{id}", delete_endpoint),
    ("GET", "/v2/templates", list_templates),
    ("POST", "/v2/templates", create_template),
    ("GET", "/v2/templates/{id}", get_template),
    ("PATCH", "/v2/templates/{id}", update_template),
    ("DELETE", "/v2/templates/{id}", delete_template),
    ("GET", "/v2/network-volumes", list_volumes),
    ("POST", "/v2/network-volumes", create_volume),
    ("GET", "/v2/network-volumes/{id}", get_volume),
    ("PATCH", "/v2/network-volumes/{id}", update_volume),
    ("DELETE", "/v2/network-volumes/{id}", delete_volume),
    ("GET", "/v2/registries", list_registries),
    ("POST", "/v2/registries", create_registry),
    ("GET", "/v2/registries/{id}", get_registry),
    ("DELETE", "/v2/registries/{id}", delete_registry),
    *v2_catalog.TABLE,
]


def routes(backend: Backend, context: Context) -> list[Route]:
    """Every v2 control-plane route, one Route per path with its methods."""
    gen = V2Generation(load(V2), backend)
    table = [*TABLE, *v2_workers.table(context)]
    by_path: dict[str, dict[str, Handler]] = {}
    for method, path, handler in table:
        by_path.setdefault(path, {})[method] = handler
    return [_route(gen, path, handlers) for path, handlers in by_path.items()]


def _route(gen: Generation, path: str, handlers: dict[str, Handler]) -> Route:
    endpoints = {m: gen.route(m, path, h) for m, h in handlers.items()}

    async def dispatch(request: Any) -> Response:
        return await endpoints[request.method](request)

    return Route(path, dispatch, methods=list(handlers))
