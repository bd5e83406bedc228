"""The v1 deploy script a user writes by hand, step by step, against the local RunPod."""

from __future__ import annotations

import httpx


def test_v1_deploy_script(api: httpx.Client) -> None:
    vol = api.post(
        "/v1/networkvolumes", json={"name": "models", "size": 50, "dataCenterId": "US-KS-2"}
    )
    assert vol.status_code == 200
    volume = vol.json()
    assert volume["dataCenterId"] == "US-KS-2" and volume["size"] == 50

    template = {
        "name": "gpu-check",
        "imageName": "ghcr.io/acme/worker:1.0",
        "isServerless": True,
        "containerDiskInGb": 20,
        "volumeInGb": 0,
    }
    refused = api.post(
        "/v1/templates",
        json={**template, "env": [{"key": "HF_HOME", "value": "/runpod-volume/hf"}]},
    )
    assert refused.status_code == 400
    message = refused.json()["message"]
    assert "env" in message
    assert '{"HF_HOME": "..."}' in message  # the object form to send instead, values unquoted
    assert "/runpod-volume/hf" not in message  # an env value may be a secret
    assert "env[0]" not in message  # one clear complaint, not one per item

    created = api.post("/v1/templates", json={**template, "env": {"HF_HOME": "/runpod-volume/hf"}})
    assert created.status_code == 200
    tpl = created.json()
    assert tpl["env"] == {"HF_HOME": "/runpod-volume/hf"} and tpl["isServerless"] is True

    ep = api.post(
        "/v1/endpoints",
        json={
            "name": "gpu-check",
            "templateId": tpl["id"],
            "gpuTypeIds": ["NVIDIA GeForce RTX 4090"],
            "networkVolumeId": volume["id"],
            "workersMin": 0,
            "workersMax": 2,
            "dataCenterIds": ["US-KS-2"],
        },
    )
    assert ep.status_code == 200, ep.text
    endpoint = ep.json()
    assert endpoint["templateId"] == tpl["id"]
    assert endpoint["networkVolumeId"] == volume["id"]
    assert endpoint["env"] == {"HF_HOME": "/runpod-volume/hf"}
    assert endpoint["version"] == 1

    listed = api.get("/v1/endpoints")
    assert listed.status_code == 200
    assert [e["id"] for e in listed.json()] == [endpoint["id"]]  # a bare array, as v1 lists are

    # The same endpoint through v2: one state behind both generations.
    v2 = api.get(f"/v2/serverless/{endpoint['id']}").json()
    assert v2["networkVolumes"] == [volume["id"]] and v2["image"] == "ghcr.io/acme/worker:1.0"
    assert v2["requestUrls"]["runSync"].endswith(f"/v2/{endpoint['id']}/runsync")


def test_v1_update_synonyms_and_template_rollout(api: httpx.Client) -> None:
    tpl = api.post("/v1/templates", json={"name": "t", "imageName": "img:1", "isServerless": True})
    ep = api.post("/v1/endpoints", json={"templateId": tpl.json()["id"], "workersMax": 1}).json()

    patched = api.patch(f"/v1/endpoints/{ep['id']}", json={"workersMax": 2, "idleTimeout": 30})
    assert patched.json()["workersMax"] == 2 and patched.json()["version"] == 2
    posted = api.post(f"/v1/endpoints/{ep['id']}/update", json={"scalerValue": 2})
    assert posted.status_code == 200 and posted.json()["scalerValue"] == 2

    # Editing the linked template rolls out to the endpoint: a new version with the new image.
    api.post(f"/v1/templates/{tpl.json()['id']}/update", json={"imageName": "img:2"})
    after = api.get(f"/v1/endpoints/{ep['id']}", params={"includeTemplate": "true"}).json()
    assert after["version"] == 4 and after["template"]["imageName"] == "img:2"
    releases = api.get(f"/v2/serverless/{ep['id']}/releases").json()
    assert releases["endpointVersion"] == 4
    assert releases["releases"][0]["diff"] == [{"field": "image", "old": "img:1", "new": "img:2"}]
