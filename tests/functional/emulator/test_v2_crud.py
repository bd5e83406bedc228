"""REST v2 create/read/update/delete for every emulated resource, and the catalog."""

from __future__ import annotations

import httpx

from podkit.emulator.server import LocalRunPod

ENDPOINT = {
    "name": "ep",
    "type": "QUEUE",
    "image": "img:1",
    "args": "serve --port 8000",
    "scaling": {"type": "QUEUE_DELAY", "queueDelay": 2.5},
    "gpu": {"pools": ["ADA_24", "AMPERE_24"], "excludedTypes": [" NVIDIA L4"]},
    "workers": {"min": 0, "max": 2},
}


def test_endpoint_crud(api: httpx.Client) -> None:
    created = api.post("/v2/serverless", json=ENDPOINT)
    assert created.status_code == 201
    ep = created.json()
    assert ep["args"] == "serve --port 8000" and ep["scaling"]["queueDelay"] == 2.5
    assert ep["gpu"]["excludedTypes"] == ["NVIDIA L4"]  # whitespace trimmed
    assert api.get("/v2/serverless").json()["endpoints"] == [ep]

    patched = api.patch(
        f"/v2/serverless/{ep['id']}",
        json={"gpu": {"pools": ["ADA_24"]}, "workers": {"min": 1}, "env": {"K": "v"}},
    )
    assert patched.status_code == 200
    after = patched.json()
    assert after["gpu"]["pools"] == ["ADA_24"] and "excludedTypes" not in after["gpu"]
    assert after["workers"] == {"min": 1, "max": 2, "idleTimeout": 10}  # merged per member
    assert after["env"] == {"K": "v"}
    v1 = api.get(f"/v1/endpoints/{ep['id']}").json()
    assert v1["gpuTypeIds"] == ["NVIDIA GeForce RTX 4090"] and v1["env"] == {"K": "v"}

    assert api.delete(f"/v2/serverless/{ep['id']}").status_code == 204
    assert api.get(f"/v2/serverless/{ep['id']}").status_code == 404
    assert api.delete(f"/v2/serverless/{ep['id']}").status_code == 404


def test_cpu_endpoint_keeps_its_family(api: httpx.Client) -> None:
    body = {**ENDPOINT, "cpu": [{"id": "cpu5c", "vcpuCount": 4}]}
    body.pop("gpu")
    ep = api.post("/v2/serverless", json=body).json()
    assert ep["gpu"] is None and ep["cpu"] == [{"id": "cpu5c", "vcpuCount": 4, "memory": 8}]
    refused = api.patch(f"/v2/serverless/{ep['id']}", json={"gpu": {"pools": ["ADA_24"]}})
    assert refused.status_code == 400 and "CPU endpoint" in refused.json()["detail"]
    bad = api.patch(f"/v2/serverless/{ep['id']}", json={"cpu": [{"id": "cpu5c", "vcpuCount": 3}]})
    assert bad.status_code == 400
    assert api.get(f"/v1/endpoints/{ep['id']}").json()["instanceIds"] == ["cpu5c-4-8"]


def test_template_volume_registry_crud(api: httpx.Client) -> None:
    reg = api.post("/v2/registries", json={"name": "ghcr", "username": "u", "password": "p"})
    assert reg.status_code == 201 and set(reg.json()) == {"id", "name"}
    rid = reg.json()["id"]
    tpl = api.post(
        "/v2/templates",
        json={
            "name": "t",
            "image": "i",
            "registry": rid,
            "mounts": {"persistent": {"size": 10, "path": "/w"}},
        },
    )
    assert tpl.status_code == 201 and tpl.json()["registry"] == rid
    tid = tpl.json()["id"]
    assert api.patch(f"/v2/templates/{tid}", json={"name": "t2"}).json()["name"] == "t2"
    assert api.get("/v2/templates").json()["templates"][0]["name"] == "t2"
    assert api.delete(f"/v2/registries/{rid}").status_code == 204
    assert api.get(f"/v2/templates/{tid}").json()["registry"] is None  # silently cleared
    assert api.delete(f"/v2/templates/{tid}").status_code == 204

    vol = api.post("/v2/network-volumes", json={"name": "m", "size": 10, "dataCenter": "EU-RO-1"})
    assert vol.status_code == 201 and vol.json()["type"] == "STANDARD"
    vid = vol.json()["id"]
    assert api.patch(f"/v2/network-volumes/{vid}", json={}).status_code == 422
    assert api.patch(f"/v2/network-volumes/{vid}", json={"name": "n"}).json()["name"] == "n"
    assert api.get("/v2/network-volumes").json()["networkVolumes"][0]["id"] == vid
    unknown_dc = api.post(
        "/v2/network-volumes", json={"name": "m", "size": 10, "dataCenter": "MOON-1"}
    )
    assert unknown_dc.status_code == 400 and "MOON-1" in unknown_dc.json()["detail"]
    assert api.delete(f"/v2/network-volumes/{vid}").status_code == 204


def test_catalog_prices_and_availability_are_settable(
    local_runpod: LocalRunPod, api: httpx.Client
) -> None:
    local_runpod.backend.catalog.set_pool_price("ADA_24", 0.99)
    local_runpod.backend.catalog.set_availability("NVIDIA H200", "NONE")
    local_runpod.backend.catalog.set_availability("NVIDIA H200", "LOW", datacenter="US-KS-2")
    gpus = api.get("/v2/catalog/gpus").json()["gpus"]
    rtx = next(g for g in gpus if g["id"] == "NVIDIA GeForce RTX 4090")
    assert rtx["pool"] == "ADA_24" and rtx["price"]["serverless"] == 0.99
    assert "availability" not in rtx
    h200 = api.get(
        "/v2/catalog/gpus/NVIDIA H200", params={"include": "AVAILABILITY", "product": "SERVERLESS"}
    ).json()
    assert h200["availability"] == "LOW"
    assert h200["dataCenters"] == [{"id": "US-KS-2", "name": "US-KS-2", "availability": "LOW"}]
    assert api.get("/v2/catalog/gpus", params={"include": "AVAILABILITY"}).status_code == 400
    assert api.get("/v2/catalog/gpus/NOPE").status_code == 404
    dcs = api.get("/v2/catalog/datacenters", params={"regions": "EUROPE"}).json()["dataCenters"]
    assert dcs and all(d["region"] == "EUROPE" for d in dcs)
    ks = api.get("/v2/catalog/datacenters/US-KS-2", params={"include": "GPU_AVAILABILITY"})
    levels = {g["id"]: g["availability"] for g in ks.json()["gpuAvailability"]}
    assert levels["NVIDIA H200"] == "LOW"


def test_cpu_catalog_drives_cpu_endpoints(api: httpx.Client) -> None:
    cpus = {c["id"]: c for c in api.get("/v2/catalog/cpus").json()["cpus"]}
    assert set(cpus) == {"cpu3c", "cpu3g", "cpu5c", "cpu5g"}
    g = api.get(
        "/v2/catalog/cpus/cpu3g", params={"include": "AVAILABILITY", "product": "SERVERLESS"}
    ).json()
    assert g["availability"] == "HIGH" and g["ramGbPerVcpu"] == 4
    body = {**ENDPOINT, "cpu": [{"id": "cpu3g", "vcpuCount": 8}]}
    body.pop("gpu")
    ep = api.post("/v2/serverless", json=body).json()
    assert ep["cpu"] == [{"id": "cpu3g", "vcpuCount": 8, "memory": 32}]
    body["cpu"] = [{"id": "cpu9x", "vcpuCount": 8}]
    unknown = api.post("/v2/serverless", json=body)
    assert unknown.status_code == 400 and "/v2/catalog/cpus" in unknown.json()["detail"]


def test_gpu_catalog_filters(local_runpod: LocalRunPod, api: httpx.Client) -> None:
    scope = {"include": "AVAILABILITY", "product": "SERVERLESS"}
    local_runpod.backend.catalog.set_availability("NVIDIA H200", "NONE")
    local_runpod.backend.catalog.set_availability("NVIDIA H200", "MEDIUM", datacenter="EU-RO-1")
    in_us = api.get("/v2/catalog/gpus", params={**scope, "countryCodes": "US,CA"}).json()["gpus"]
    assert "NVIDIA H200" not in {g["id"] for g in in_us}  # the list drops it
    h200 = api.get("/v2/catalog/gpus/NVIDIA H200", params={**scope, "countryCodes": "US"}).json()
    assert h200["availability"] == "NONE" and "dataCenters" not in h200  # get keeps it
    ro = api.get("/v2/catalog/gpus/NVIDIA H200", params={**scope, "countryCodes": "RO"}).json()
    assert [d["id"] for d in ro["dataCenters"]] == ["EU-RO-1"]

    floor = api.get("/v2/catalog/gpus/NVIDIA L4", params={**scope, "minCudaVersion": "12.8"})
    assert [v["version"] for v in floor.json()["cudaVersions"]] == ["13.0", "12.9", "12.8"]
    none = api.get("/v2/catalog/gpus/NVIDIA L4", params={**scope, "cudaVersions": "99.0"})
    assert none.json()["availability"] == "NONE"

    both = api.get(
        "/v2/catalog/gpus", params={**scope, "cudaVersions": "12.8", "minCudaVersion": "12.4"}
    )
    assert both.status_code == 400
    assert api.get("/v2/catalog/gpus", params={**scope, "countryCodes": "usa"}).status_code == 422
    assert api.get("/v2/catalog/gpus", params={"countryCodes": "US"}).status_code == 400
