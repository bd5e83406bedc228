"""The platform rules, through both API generations over the one shared state."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from podkit.emulator.backend import QUOTA_TEXT
from podkit.emulator.server import LocalRunPod

V2_ENDPOINT: dict[str, Any] = {
    "name": "ep",
    "type": "QUEUE",
    "image": "img:1",
    "scaling": {"type": "QUEUE_DELAY", "queueDelay": 4},
    "gpu": {"pools": ["ADA_24"]},
}


def v1_template(api: httpx.Client, name: str = "t") -> str:
    r = api.post("/v1/templates", json={"name": name, "imageName": "img:1", "isServerless": True})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def test_template_names_are_unique_per_account(client_for: Any) -> None:
    alice, bob = client_for("alice"), client_for("bob")
    v1_template(alice, "worker")
    dup = alice.post("/v2/templates", json={"name": "worker", "image": "img:2"})
    assert dup.status_code == 400
    assert "'worker' is already used" in dup.json()["detail"]
    assert bob.post("/v2/templates", json={"name": "worker", "image": "x"}).status_code == 201


def test_template_in_use_cannot_be_deleted(api: httpx.Client) -> None:
    tpl = v1_template(api)
    ep = api.post("/v1/endpoints", json={"templateId": tpl, "workersMax": 1}).json()
    refused = api.delete(f"/v1/templates/{tpl}")
    assert refused.status_code == 400
    assert ep["id"] in refused.json()["message"] and "in use" in refused.json()["message"]
    assert api.delete(f"/v1/endpoints/{ep['id']}").status_code == 204
    assert api.delete(f"/v1/templates/{tpl}").status_code == 204
    assert api.get(f"/v1/templates/{tpl}").status_code == 404


def test_referenced_ids_must_exist(api: httpx.Client) -> None:
    missing_tpl = api.post("/v1/endpoints", json={"templateId": "nosuchtpl0"})
    assert missing_tpl.status_code == 404 and "nosuchtpl0" in missing_tpl.json()["message"]
    v2_tpl = api.post("/v2/serverless", json={**V2_ENDPOINT, "templateId": "nosuchtpl0"})
    assert v2_tpl.status_code == 404
    bad_vol = api.post("/v2/serverless", json={**V2_ENDPOINT, "networkVolumes": ["novolume00"]})
    assert bad_vol.status_code == 404 and "novolume00" in bad_vol.json()["detail"]
    bad_reg = api.post("/v2/templates", json={"name": "r", "image": "i", "registry": "noreg"})
    assert bad_reg.status_code == 404
    assert api.get("/v2/serverless").json() == {"endpoints": []}  # nothing half-created


def test_volume_must_sit_in_an_allowed_datacenter(api: httpx.Client) -> None:
    vol = api.post("/v2/network-volumes", json={"name": "m", "size": 10, "dataCenter": "EU-RO-1"})
    body = {**V2_ENDPOINT, "networkVolumes": [vol.json()["id"]], "dataCenterIds": ["US-KS-2"]}
    refused = api.post("/v2/serverless", json=body)
    assert refused.status_code == 400
    assert "EU-RO-1" in refused.json()["detail"] and "dataCenterIds" in refused.json()["detail"]
    body["dataCenterIds"] = ["US-KS-2", "EU-RO-1"]
    assert api.post("/v2/serverless", json=body).status_code == 201


def test_worker_quota_sums_workers_max(local_runpod: LocalRunPod, api: httpx.Client) -> None:
    tpl = v1_template(api)
    assert api.post("/v1/endpoints", json={"templateId": tpl, "workersMax": 3}).status_code == 200
    over = api.post("/v2/serverless", json={**V2_ENDPOINT, "workers": {"max": 3}})
    assert over.status_code == 400
    assert over.json()["detail"] == QUOTA_TEXT.format(quota=5)
    over_v1 = api.post("/v1/endpoints", json={"templateId": tpl, "workersMax": 3})
    assert over_v1.json()["message"] == QUOTA_TEXT.format(quota=5)

    local_runpod.backend.set_quota(30)
    assert (
        api.post("/v2/serverless", json={**V2_ENDPOINT, "workers": {"max": 3}}).status_code == 201
    )


def test_volume_size_only_grows(local_runpod: LocalRunPod, api: httpx.Client) -> None:
    vol = api.post("/v1/networkvolumes", json={"name": "m", "size": 20, "dataCenterId": "US-KS-2"})
    vid = vol.json()["id"]
    shrink = api.patch(f"/v2/network-volumes/{vid}", json={"size": 15})
    assert shrink.status_code == 400 and "at least 20" in shrink.json()["detail"]
    assert api.post(f"/v1/networkvolumes/{vid}/update", json={"size": 5}).status_code == 400
    assert api.patch(f"/v2/network-volumes/{vid}", json={"size": 40}).json()["size"] == 40
    local_runpod.backend.quirks.v1_accept_volume_shrink = True
    assert api.patch(f"/v1/networkvolumes/{vid}", json={"size": 30}).json()["size"] == 30


@pytest.mark.parametrize("size", [0, 5, 9])
def test_v1_volume_sizes_follow_the_platform_bounds(
    local_runpod: LocalRunPod, api: httpx.Client, size: int
) -> None:
    """v1's document allows 0-4000 GB; the platform (and v2's document) 10-4096."""
    body = {"name": "m", "size": size, "dataCenterId": "US-KS-2"}
    refused = api.post("/v1/networkvolumes", json=body)
    assert refused.status_code == 400 and "10-4096 GB" in refused.json()["message"]
    vid = api.post("/v1/networkvolumes", json={**body, "size": 10}).json()["id"]
    local_runpod.backend.quirks.v1_accept_volume_shrink = True  # bounds hold even so
    assert api.patch(f"/v1/networkvolumes/{vid}", json={"size": size}).status_code == 400
    assert api.get("/v2/network-volumes").json()["networkVolumes"][0]["size"] == 10
    big = api.post("/v1/networkvolumes", json={**body, "size": 4000})
    assert big.status_code == 200 and big.json()["size"] == 4000
    assert api.post("/v1/networkvolumes", json={**body, "size": 4001}).status_code == 400
    v2_body = {"name": "m", "size": 4097, "dataCenter": "US-KS-2"}
    assert api.post("/v2/network-volumes", json=v2_body).status_code == 422


def test_documented_defaults_differ_between_generations(api: httpx.Client) -> None:
    v2 = api.post("/v2/serverless", json=V2_ENDPOINT).json()
    assert v2["workers"] == {"min": 0, "max": 3, "idleTimeout": 10}
    assert v2["timeout"] == 300000 and v2["flashboot"] == "OFF" and v2["dataCenterIds"] == []
    assert v2["gpu"]["count"] == 1
    tpl = v1_template(api)
    api.patch(f"/v2/serverless/{v2['id']}", json={"workers": {"max": 0}})
    v1 = api.post("/v1/endpoints", json={"templateId": tpl}).json()
    assert v1["idleTimeout"] == 5 and v1["scalerType"] == "QUEUE_DELAY" and v1["scalerValue"] == 4
    assert len(v1["dataCenterIds"]) == 26 and v1["gpuCount"] == 1
    t1 = api.get(f"/v1/templates/{tpl}").json()
    assert t1["containerDiskInGb"] == 50 and t1["ports"] == ["8888/http", "22/tcp"]
    assert t1["volumeInGb"] == 20 and t1["volumeMountPath"] == "/workspace"
    t2 = api.post("/v2/templates", json={"name": "t2", "image": "i"}).json()
    assert t2["startSsh"] is True and t2["category"] == "NVIDIA" and t2["serverless"] is False


def test_every_endpoint_change_is_a_release(api: httpx.Client) -> None:
    ep = api.post("/v2/serverless", json=V2_ENDPOINT).json()
    api.patch(f"/v2/serverless/{ep['id']}", json={"workers": {"max": 2}})
    api.patch(f"/v2/serverless/{ep['id']}", json={"env": {"A": "1"}})
    api.patch(f"/v2/serverless/{ep['id']}", json={"env": {"A": "1"}})  # no change, no release
    rel = api.get(f"/v2/serverless/{ep['id']}/releases").json()
    assert rel["endpointVersion"] == 3 and [r["version"] for r in rel["releases"]] == [3, 2, 1]
    assert rel["releases"][0]["diff"] == [{"field": "env", "old": {}, "new": {"A": "1"}}]
    assert rel["releases"][1]["diff"] == [{"field": "workers.max", "old": 3, "new": 2}]
    assert rel["rollout"] == {
        "inProgress": False,
        "workersOnLatest": 0,
        "workersTotal": 0,
        "percentOnLatest": 0,
    }
    assert api.get(f"/v1/endpoints/{ep['id']}").json()["version"] == 3


def test_v2_schema_errors_say_what_was_wrong(api: httpx.Client) -> None:
    r = api.post(
        "/v2/serverless",
        json={**V2_ENDPOINT, "env": ["HF_HOME=/runpod-volume"], "imageName": "x", "type": "QUEUES"},
    )
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    errors = r.json()["errors"]
    assert any("$.env" in e and '{"HF_HOME": "..."}' in e for e in errors)
    assert "$: additional properties 'imageName' not allowed; this API calls it 'image'" in errors
    assert any("$.type" in e and "QUEUE, LOAD_BALANCER" in e for e in errors)
    patch_type = api.patch("/v2/serverless/whatever", json={"type": "QUEUE"})
    assert patch_type.json()["errors"] == ["$: additional properties 'type' not allowed"]


def test_v1_schema_errors_say_what_was_wrong(api: httpx.Client) -> None:
    tpl = v1_template(api)
    r = api.post("/v1/endpoints", json={"templateId": tpl, "scalerType": "FAST", "scaling": {}})
    assert r.status_code == 400
    problems = r.json()["problems"]
    assert any("scalerType" in p and "QUEUE_DELAY, REQUEST_COUNT" in p for p in problems)
    assert "key provided in request body which is not in input schema: 'scaling'" in problems
    missing = api.post("/v1/endpoints", json={"name": "x"})
    assert "missing required property 'templateId'" in missing.json()["message"]


def test_v2_create_copies_the_template_once(api: httpx.Client) -> None:
    tpl = api.post(
        "/v2/templates",
        json={"name": "base", "image": "img:1", "serverless": True, "env": {"A": "1", "B": "2"}},
    ).json()
    ep = api.post(
        "/v2/serverless",
        json={**V2_ENDPOINT, "image": "img:9", "templateId": tpl["id"], "env": {"B": "override"}},
    ).json()
    assert ep["image"] == "img:9" and ep["env"] == {"A": "1", "B": "override"}
    api.patch(f"/v2/templates/{tpl['id']}", json={"image": "img:2"})
    assert api.get(f"/v2/serverless/{ep['id']}").json()["image"] == "img:9"  # no live link
    assert api.delete(f"/v2/templates/{tpl['id']}").status_code == 204  # not in use
    pod_tpl = api.post("/v2/templates", json={"name": "pod", "image": "i"}).json()
    r = api.post("/v2/serverless", json={**V2_ENDPOINT, "templateId": pod_tpl["id"]})
    assert r.status_code == 422


def test_gpu_rules(api: httpx.Client) -> None:
    both = api.post(
        "/v2/serverless", json={**V2_ENDPOINT, "cpu": [{"id": "cpu3c", "vcpuCount": 2}]}
    )
    assert both.status_code == 400
    pool = api.post("/v2/serverless", json={**V2_ENDPOINT, "gpu": {"pools": ["NOPE_1"]}})
    assert pool.status_code == 400 and "NOPE_1" in pool.json()["detail"]
    cuda = {"pools": ["ADA_24"], "allowedCudaVersions": ["12.8"], "minCudaVersion": "12.4"}
    assert api.post("/v2/serverless", json={**V2_ENDPOINT, "gpu": cuda}).status_code == 400
    rc = {
        **V2_ENDPOINT,
        "scaling": {"type": "REQUEST_COUNT", "requestCount": 2},
        "workers": {"idleTimeout": 5},
    }
    assert api.post("/v2/serverless", json=rc).status_code == 400
    rc.pop("workers")
    ok = api.post("/v2/serverless", json=rc).json()
    assert "idleTimeout" not in ok["workers"]  # omitted for QUEUE + REQUEST_COUNT


def test_malformed_json_is_refused_in_each_shape(api: httpx.Client) -> None:
    headers = {"Content-Type": "application/json"}
    v2 = api.post("/v2/templates", content=b"{not json", headers=headers)
    assert v2.status_code == 400 and "not valid JSON" in v2.json()["detail"]
    v1 = api.post("/v1/templates", content=b"{not json", headers=headers)
    assert v1.status_code == 400 and "not valid JSON" in v1.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "e", "type": "QUEUE", "image": "i", "gpu": {"pools": ["ADA_24"]}, '
        b'"scaling": {"type": "QUEUE_DELAY", "queueDelay": Infinity}}',
        b'{"name": "e", "type": "QUEUE", "image": "i", "gpu": {"pools": ["ADA_24"]}, '
        b'"scaling": {"type": "QUEUE_DELAY", "queueDelay": NaN}}',
        b'{"name": "e", "type": "QUEUE", "image": "i", "gpu": {"pools": ["ADA_24"]}, '
        b'"scaling": {"type": "QUEUE_DELAY", "queueDelay": 1e999}}',
        b'{"name": "e", "env": {"A": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
        b'{"name": "e\\ud800", "image": "i"}',
        b'{"name": "e", "image": "i", "env": {"K": "\xed\xb0\x80"}}',
    ],
    ids=["infinity", "nan", "beyond-double", "deep", "lone-surrogate", "encoded-surrogate"],
)
def test_bodies_no_json_answer_could_carry_are_refused_and_the_account_stays_usable(
    api: httpx.Client, body: bytes
) -> None:
    headers = {"Content-Type": "application/json"}
    v2 = api.post("/v2/serverless", content=body, headers=headers)
    assert v2.status_code == 400 and "not valid JSON" in v2.json()["detail"]
    v1 = api.post("/v1/templates", content=body, headers=headers)
    assert v1.status_code == 400 and "not valid JSON" in v1.json()["message"]
    assert api.get("/v2/serverless").json() == {"endpoints": []}
    assert api.get("/v1/endpoints").json() == []


def test_whole_numbers_written_as_floats_are_stored_and_echoed_as_integers(
    api: httpx.Client,
) -> None:
    v2 = api.post("/v2/templates", json={"name": "f2", "image": "i", "disk": 50.0})
    assert v2.status_code == 201 and '"disk":50,' in v2.text
    v1 = api.post(
        "/v1/templates",
        json={"name": "f1", "imageName": "i", "containerDiskInGb": 20.0, "volumeInGb": 0.0},
    )
    assert v1.status_code == 200 and '"containerDiskInGb":20,' in v1.text
    assert '"volumeInGb":0,' in api.get(f"/v1/templates/{v1.json()['id']}").text
    half = api.post("/v2/templates", json={"name": "f3", "image": "i", "disk": 50.5})
    assert half.status_code == 422


def test_misplaced_fields_say_where_they_belong(api: httpx.Client) -> None:
    tpl = {"name": "t", "imageName": "i", "isServerless": True}
    r = api.post(
        "/v1/templates", json={**tpl, "dockerArgs": "python handler.py", "networkVolumeId": "abc"}
    )
    problems = r.json()["problems"]
    assert any("'dockerArgs'" in p and "dockerStartCmd" in p for p in problems)
    assert any("'networkVolumeId'" in p and "attach to the endpoint" in p for p in problems)
    tid = v1_template(api)
    env = api.post("/v1/endpoints", json={"templateId": tid, "env": {"A": "1"}})
    assert "set env on the template" in env.json()["message"]
    v2 = api.post("/v2/templates", json={"name": "t2", "image": "i", "networkVolumes": ["x"]})
    assert "attach to the endpoint" in v2.json()["errors"][0]
