"""The fixture records every response; each one is checked against the OpenAPI documents."""

from __future__ import annotations

import httpx

from podkit.emulator.openapi.responses import response_problems
from podkit.emulator.server import LocalRunPod


def test_fixture_records_and_checks_responses(local_runpod: LocalRunPod, api: httpx.Client) -> None:
    api.get("/v2/serverless")
    api.post("/v1/templates", json={"name": "t", "imageName": "i", "env": ["A=1"]})
    api.get("/v2/catalog/gpus", params={"include": "AVAILABILITY", "product": "SERVERLESS"})
    assert local_runpod.recorder is not None
    seen = [(r.method, r.path, r.status) for r in local_runpod.recorder.responses]
    assert seen == [
        ("GET", "/v2/serverless", 200),
        ("POST", "/v1/templates", 400),
        ("GET", "/v2/catalog/gpus", 200),
    ]
    for r in local_runpod.recorder.responses:
        assert response_problems(r.method, r.path, r.status, r.content_type, r.body) == []
