"""COVERAGE.md lists every operation of both OpenAPI documents, and says truly which ones the
local RunPod serves."""

from __future__ import annotations

import re
from importlib import resources

from starlette.routing import Route

from podkit.emulator.app import create_app
from podkit.emulator.backend import Backend
from podkit.emulator.openapi import V1, V2, load

ROW = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) (\S+)` \| \w+ \| (yes|no \(501\)) \|$", re.M)


def test_coverage_table_matches_the_served_routes() -> None:
    text = resources.files("podkit.emulator").joinpath("COVERAGE.md").read_text()
    documented = {(m, p): status == "yes" for m, p, status in ROW.findall(text)}
    operations = {
        (method.upper(), prefix + path)
        for name, prefix in ((V2, ""), (V1, "/v1"))
        for path, ops in load(name).doc["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert set(documented) == operations

    backend = Backend()
    try:
        app = create_app(backend)
    finally:
        backend.close()
    served = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route) and route.endpoint.__name__ != "_refuse_not_emulated"
        for method in route.methods or ()
    }
    wrong = {op: says for op, says in documented.items() if says != (op in served)}
    assert wrong == {}
