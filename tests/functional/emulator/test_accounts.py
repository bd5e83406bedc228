"""Accounts: any non-empty key is one, resources are private to it, no key is a 401."""

from __future__ import annotations

import json
from typing import Any

from podkit.emulator.server import LocalRunPod


def test_missing_key_is_401_in_each_generations_shape(client_for: Any) -> None:
    anonymous = client_for(None)
    v2 = anonymous.get("/v2/serverless")
    assert v2.status_code == 401 and v2.json()["detail"] == "missing bearer token"
    assert v2.headers["content-type"] == "application/problem+json"
    v1 = anonymous.get("/v1/endpoints")
    assert v1.status_code == 401 and "Authorization: Bearer" in v1.json()["message"]
    assert client_for("Bearer", bearer=False).get("/v2/templates").status_code == 401


def test_bearer_prefix_is_optional(client_for: Any) -> None:
    with_prefix = client_for("same-key")
    without = client_for("same-key", bearer=False)
    created = with_prefix.post(
        "/v2/registries", json={"name": "r", "username": "u", "password": "p"}
    )
    assert created.status_code == 201
    assert without.get("/v1/containerregistryauth").json() == [created.json()]


def test_resources_are_private_to_their_key(client_for: Any) -> None:
    alice, bob = client_for("alice"), client_for("bob")
    vol = alice.post("/v2/network-volumes", json={"name": "a", "size": 10, "dataCenter": "US-KS-2"})
    vid = vol.json()["id"]
    assert bob.get(f"/v2/network-volumes/{vid}").status_code == 404
    assert bob.get("/v1/networkvolumes").json() == []
    assert bob.delete(f"/v1/networkvolumes/{vid}").status_code == 404
    assert alice.get(f"/v1/networkvolumes/{vid}").status_code == 200


def test_keys_and_passwords_never_reach_state_or_responses(tmp_path: Any) -> None:
    secret, password = "rpa_SECRETKEY123", "hunter2-registry-password"
    with LocalRunPod(state_dir=tmp_path) as runpod:
        import httpx

        with httpx.Client(
            base_url=runpod.url, headers={"Authorization": f"Bearer {secret}"}
        ) as api:
            reg = api.post(
                "/v1/containerregistryauth",
                json={"name": "ghcr", "username": "me", "password": password},
            )
            listed = api.get("/v2/registries")
    state = (tmp_path / "state.json").read_text()
    for text in (state, reg.text, listed.text):
        assert secret not in text and password not in text
    assert json.loads(state)["accounts"][0]["registries"]


def test_scoped_keys_get_403(local_runpod: LocalRunPod, client_for: Any) -> None:
    reader = client_for("reader")
    client_for("reader").put("/_emulator/key-scope", json={"scope": "read"})
    assert reader.get("/v2/templates").status_code == 200
    denied = reader.post("/v2/templates", json={"name": "t", "image": "i"})
    assert denied.status_code == 403 and denied.json()["detail"].startswith("access denied")
    local_runpod.backend.set_key_scope("reader", "none")
    assert reader.get("/v1/templates").status_code == 403
    assert client_for("writer").post("/v2/templates", json={"name": "t", "image": "i"}).is_success
    local_runpod.backend.set_key_scope("reader", None)
    assert reader.post("/v2/templates", json={"name": "t", "image": "i"}).status_code == 201


def test_public_templates_are_readable_but_not_yours(client_for: Any) -> None:
    owner, other = client_for("owner"), client_for("other")
    reg = owner.post("/v2/registries", json={"name": "r", "username": "u", "password": "p"})
    tpl = owner.post(
        "/v2/templates",
        json={
            "name": "shared",
            "image": "img:1",
            "public": True,
            "serverless": True,
            "registry": reg.json()["id"],
        },
    )
    tid = tpl.json()["id"]
    seen = other.get(f"/v2/templates/{tid}")
    assert seen.status_code == 200 and seen.json()["registry"] is None  # "exists" != "mine"
    assert other.patch(f"/v2/templates/{tid}", json={"name": "x"}).status_code == 404
    assert other.delete(f"/v2/templates/{tid}").status_code == 404
    assert other.get("/v2/templates").json() == {"templates": []}
    listed = other.get("/v1/templates", params={"includePublicTemplates": "true"}).json()
    assert [t["id"] for t in listed] == [tid]
    body = {
        "name": "e",
        "type": "QUEUE",
        "templateId": tid,
        "gpu": {"pools": ["ADA_24"]},
        "scaling": {"type": "QUEUE_DELAY", "queueDelay": 2},
    }
    ep = other.post("/v2/serverless", json=body)
    assert ep.status_code == 201 and ep.json()["image"] == "img:1" and ep.json()["registry"] is None
