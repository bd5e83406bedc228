"""`/v2/catalog/gpus` and `/v2/catalog/datacenters`, from the backend's settable catalog."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

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


AVAILABILITY_ONLY = ("count", "cloud", "countryCodes", "cudaVersions", "minCudaVersion")


def _invalid(problem: str) -> BackendError:
    return BackendError(422, "Request validation failed.", problems=[problem])


def _gpu_filters(c: Call) -> dict[str, Any]:
    """The availability scope of a GPU catalog query, checked as the platform documents."""
    avail = _gpu_availability(c)
    used = [p for p in AVAILABILITY_ONLY if p in c.query]
    if used and not avail:
        raise rule(f"{', '.join(used)} only apply with include=AVAILABILITY&product=...; add them")
    countries = _csv(c, "countryCodes")
    bad = [v for v in countries if not re.fullmatch(r"[A-Z]{2}", v)]
    if bad:
        raise _invalid(f"countryCodes: {bad[0]!r} is not an ISO 3166-1 alpha-2 code like US")
    exact, floor = _csv(c, "cudaVersions"), c.query.get("minCudaVersion")
    if exact and floor:
        raise rule("cudaVersions and minCudaVersion exclude each other; send one")
    bad = [v for v in exact if not re.fullmatch(r"\d+\.\d+", v)]
    if bad:
        raise _invalid(f"cudaVersions: {bad[0]!r} must look like 12.8")
    if floor is not None and not re.fullmatch(r"\d+(\.\d+)?", floor):
        raise _invalid(f"minCudaVersion: {floor!r} must look like 12 or 12.4")
    return {
        "with_availability": avail,
        "countries": set(countries) or None,
        "cuda": _cuda_test(exact, floor),
    }


def _cuda_test(exact: list[str], floor: str | None) -> Callable[[str], bool] | None:
    def key(version: str) -> tuple[int, ...]:
        return tuple(int(p) for p in version.split("."))

    if exact:
        return lambda v: v in exact
    if floor:
        return lambda v: key(v) >= key(floor)
    return None


def list_gpus(c: Call) -> Response:
    filters = _gpu_filters(c)
    cat = c.backend.catalog
    views = [cat.gpu_view(g, **filters) for g in cat.gpus]
    if filters["countries"]:  # on the list, types with no data center there drop out
        views = [v for v in views if v.get("dataCenters")]
    return json_response({"gpus": views})


def get_gpu(c: Call) -> Response:
    filters = _gpu_filters(c)
    gpu_id = c.params["id"]
    if gpu_id not in c.backend.catalog.gpus:
        raise not_found("GPU type", gpu_id, "/v2/catalog/gpus")
    return json_response(c.backend.catalog.gpu_view(gpu_id, **filters))


def list_cpus(c: Call) -> Response:
    avail = _gpu_availability(c)
    cat = c.backend.catalog
    return json_response({"cpus": [cat.cpu_view(f, with_availability=avail) for f in cat.cpus]})


def get_cpu(c: Call) -> Response:
    avail = _gpu_availability(c)
    flavor = c.params["id"]
    if flavor not in c.backend.catalog.cpus:
        raise not_found("CPU flavor", flavor, "/v2/catalog/cpus")
    return json_response(c.backend.catalog.cpu_view(flavor, with_availability=avail))


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
    ("GET", "/v2/catalog/cpus", list_cpus),
    ("GET", "/v2/catalog/cpus/{id}", get_cpu),
    ("GET", "/v2/catalog/datacenters", list_datacenters),
    ("GET", "/v2/catalog/datacenters/{id}", get_datacenter),
]
