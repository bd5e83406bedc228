"""`/v2/catalog/gpus` and `/v2/catalog/datacenters`, from the backend's settable catalog."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

from podkit.emulator.backend import BackendError
from podkit.emulator.backend.errors import not_found, rule
from podkit.emulator.http.common import Call, json_response


def _csv(c: Call, name: str) -> list[str]:
    return [v.strip() for v in c.query.get(name, "").split(",") if v.strip()]


def _gpu_availability(c: Call) -> bool:
    include, product = _csv(c, "include"), _csv(c, "product")
    bad = [v for v in include if v != "AVAILABILITY"]
    if bad:
        raise BackendError(
            422,
            "Request validation failed.",
            problems=[f"include: {bad[0]!r} is not one of: AVAILABILITY"],
        )
    if include and not product:
        raise rule(
            "include=AVAILABILITY needs product (POD, CLUSTER or SERVERLESS); add "
            "product=SERVERLESS for endpoint planning"
        )
    if product and not include:
        raise rule("product is only valid with include=AVAILABILITY; add include=AVAILABILITY")
    return bool(include)


def list_gpus(c: Call) -> Response:
    avail = _gpu_availability(c)
    cat = c.backend.catalog
    return json_response({"gpus": [cat.gpu_view(g, with_availability=avail) for g in cat.gpus]})


def get_gpu(c: Call) -> Response:
    avail = _gpu_availability(c)
    gpu_id = c.params["id"]
    if gpu_id not in c.backend.catalog.gpus:
        raise not_found("GPU type", gpu_id, "/v2/catalog/gpus")
    return json_response(c.backend.catalog.gpu_view(gpu_id, with_availability=avail))


def _dc_include(c: Call) -> bool:
    return "GPU_AVAILABILITY" in _csv(c, "include")


def list_datacenters(c: Call) -> Response:
    cat = c.backend.catalog
    regions = set(_csv(c, "regions"))
    views = [cat.datacenter_view(dc, with_gpus=_dc_include(c)) for dc in cat.datacenters]
    if regions:
        views = [v for v in views if v["region"] in regions]
    return json_response({"dataCenters": views})


def get_datacenter(c: Call) -> Response:
    dc = c.params["id"]
    if dc not in c.backend.catalog.datacenters:
        raise not_found("data center", dc, "/v2/catalog/datacenters")
    return json_response(c.backend.catalog.datacenter_view(dc, with_gpus=_dc_include(c)))


TABLE: list[tuple[str, str, Callable[[Call], Response]]] = [
    ("GET", "/v2/catalog/gpus", list_gpus),
    ("GET", "/v2/catalog/gpus/{id}", get_gpu),
    ("GET", "/v2/catalog/datacenters", list_datacenters),
    ("GET", "/v2/catalog/datacenters/{id}", get_datacenter),
]
