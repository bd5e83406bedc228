"""The backend on its own: seedable ids, reset, and one lock under concurrent requests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from podkit.emulator.backend import Backend, BackendError
from podkit.emulator.server import LocalRunPod


def make_ids(seed: int) -> list[str]:
    backend = Backend(seed=seed)
    try:
        vol = backend.create_volume("k", name="v", size=10, data_center="US-KS-2")
        tpl = backend.create_template("k", {"name": "t", "image": "i"})
        return [vol["id"], tpl["id"]]
    finally:
        backend.close()


def test_ids_repeat_with_the_seed() -> None:
    assert make_ids(5) == make_ids(5)
    assert make_ids(5) != make_ids(6)
    first = make_ids(5)
    assert len(first[0]) == 10 and first[0].isalnum() and first[0].islower()


def test_reset_forgets_everything_and_reseeds(local_runpod: LocalRunPod, api: httpx.Client) -> None:
    backend = local_runpod.backend
    backend.reset(seed=9)
    first = api.post("/v2/templates", json={"name": "t", "image": "i"}).json()["id"]
    backend.set_quota(1)
    backend.quirks.v1_live_error_shape = True
    backend.reset(seed=9)
    assert api.get("/v2/templates").json() == {"templates": []}
    assert backend.default_quota == 5 and backend.quirks.v1_live_error_shape is False
    assert api.post("/v2/templates", json={"name": "t", "image": "i"}).json()["id"] == first


def test_concurrent_creates_respect_names_and_quota(client_for: Any) -> None:
    api = client_for("racer")

    def create_template(i: int) -> int:
        return api.post("/v2/templates", json={"name": "same", "image": f"i{i}"}).status_code

    def create_endpoint(i: int) -> int:
        body = {
            "name": f"e{i}",
            "type": "QUEUE",
            "image": "i",
            "gpu": {"pools": ["ADA_24"]},
            "scaling": {"type": "QUEUE_DELAY", "queueDelay": 1},
            "workers": {"max": 2},
        }
        return api.post("/v2/serverless", json=body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        names = list(pool.map(create_template, range(16)))
        endpoints = list(pool.map(create_endpoint, range(16)))
    assert sorted(names) == [201] + [400] * 15
    assert endpoints.count(201) == 2  # 2 + 2 <= 5 < 2 + 2 + 2
    total = sum(e["workers"]["max"] for e in api.get("/v2/serverless").json()["endpoints"])
    assert total == 4


def test_refused_changes_leave_no_trace() -> None:
    backend = Backend(seed=1)
    try:
        tpl = backend.create_template("k", {"name": "t", "image": "i", "serverless": True})
        fields = {
            "name": "e",
            "type": "QUEUE",
            "gpu": {"pools": ["NOPE"]},
            "cpu": None,
            "workers": {"min": 0, "max": 1, "idleTimeout": 5},
            "scaling": {"type": "QUEUE_DELAY", "value": 4},
            "dataCenterIds": [],
            "networkVolumes": [],
            "timeout": 1000,
            "flashboot": "OFF",
        }
        with pytest.raises(BackendError) as refused:
            backend.create_endpoint("k", fields, template_id=tpl["id"])
        assert refused.value.status == 400 and "NOPE" in refused.value.message
        assert backend.list_endpoints("k") == []
        assert [t["id"] for t in backend.list_templates("k", include_bound=True)] == [tpl["id"]]
    finally:
        backend.close()
