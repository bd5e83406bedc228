"""Fault injection (seeded 429/5xx/drops per route) and the live quirks as switches."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from podkit.emulator.backend.faults import parse_spec
from podkit.emulator.server import LocalRunPod

HEADERS = {"Authorization": "Bearer test-key"}


def test_429_carries_retry_after(local_runpod: LocalRunPod, api: httpx.Client) -> None:
    local_runpod.backend.faults.add("GET /v2/templates", rate_429=1.0, retry_after_s=7)
    r = api.get("/v2/templates")
    assert r.status_code == 429 and r.headers["retry-after"] == "7"
    assert r.json()["title"] == "Too Many Requests"
    assert api.get("/v2/network-volumes").status_code == 200  # other routes untouched


def test_5xx_in_the_generations_shape(local_runpod: LocalRunPod, api: httpx.Client) -> None:
    local_runpod.backend.faults.add("/v1/*", rate_5xx=1.0, status_5xx=502)
    r = api.get("/v1/endpoints")
    assert r.status_code == 502 and "retry" in r.json()["message"]


def test_dropped_connection(local_runpod: LocalRunPod, api: httpx.Client) -> None:
    local_runpod.backend.faults.add("POST /v2/templates", rate_drop=1.0)
    with pytest.raises(httpx.TransportError):
        api.post("/v2/templates", json={"name": "t", "image": "i"})
    local_runpod.backend.faults.clear()
    assert api.post("/v2/templates", json={"name": "t", "image": "i"}).status_code == 201


@pytest.mark.parametrize("fault", ["rate_commit_drop", "rate_commit_5xx"])
def test_commit_faults_apply_the_write_then_lose_the_answer(
    local_runpod: LocalRunPod, api: httpx.Client, fault: str
) -> None:
    local_runpod.backend.faults.add("POST /v2/templates", **{fault: 1.0})
    try:
        answer = api.post("/v2/templates", json={"name": "t", "image": "i"}).status_code
    except httpx.TransportError:
        answer = 0
    assert answer == (0 if fault == "rate_commit_drop" else 503)
    local_runpod.backend.faults.clear()
    assert [t["name"] for t in api.get("/v2/templates").json()["templates"]] == ["t"]
    retried = api.post("/v2/templates", json={"name": "t", "image": "i"})
    assert retried.status_code == 400 and "already used" in retried.text


def test_commit_fault_spec_keys() -> None:
    rule = parse_spec("POST /v1/*:commit-drop=0.1,commit-5xx=0.2")
    assert (rule.rate_commit_drop, rule.rate_commit_5xx) == (0.1, 0.2)
    with pytest.raises(ValueError, match="is a rate"):
        parse_spec("POST /v1/*:commit-5xx=2")


@pytest.mark.parametrize("path", ["/v2/templates", "/v1/templates"])
def test_template_names_stay_unique_under_concurrent_creates(
    local_runpod: LocalRunPod, path: str
) -> None:
    """16 clients create the same name at once: exactly one wins, the rest get a 400."""
    image = "image" if path.startswith("/v2") else "imageName"
    body = {"name": "lock", image: "i"}
    start = threading.Barrier(16)

    def create(_: int) -> int:
        with httpx.Client(base_url=local_runpod.url, headers=HEADERS, timeout=30) as c:
            start.wait(timeout=30)
            return c.post(path, json=body).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = sorted(pool.map(create, range(16)))
    assert statuses == [200 if path.startswith("/v1") else 201] + [400] * 15
    acc = local_runpod.backend.account(HEADERS["Authorization"].split()[1])
    assert [t["name"] for t in acc.templates.values()] == ["lock"]


def test_faults_are_seeded(local_runpod: LocalRunPod, api: httpx.Client) -> None:
    def run() -> list[int]:
        local_runpod.backend.faults.clear(seed=42)
        local_runpod.backend.faults.add("GET /v2/*", rate_5xx=0.5)
        return [api.get("/v2/registries").status_code for _ in range(20)]

    first = run()
    assert first == run()
    assert set(first) == {200, 503}


def test_admin_routes_control_faults_and_quota(client_for: Any) -> None:
    admin, api = client_for(None), client_for("k")
    rules = {"seed": 1, "rules": [{"pattern": "DELETE /v2/*", "rate_429": 1.0}]}
    assert admin.put("/_emulator/faults", json=rules).json()["rules"][0]["rate_429"] == 1.0
    assert api.delete("/v2/templates/x").status_code == 429
    admin.delete("/_emulator/faults")
    assert api.delete("/v2/templates/x").status_code == 404

    client_for("k").put("/_emulator/quota", json={"quota": 1})  # that key's account only
    body = {
        "name": "e",
        "type": "QUEUE",
        "image": "i",
        "gpu": {"pools": ["ADA_24"]},
        "scaling": {"type": "QUEUE_DELAY", "queueDelay": 2},
        "workers": {"max": 2},
    }
    assert "quota (1)" in api.post("/v2/serverless", json=body).json()["detail"]
    assert client_for("other").post("/v2/serverless", json=body).status_code == 201


def test_flashboot_false_quirk(client_for: Any) -> None:
    api, admin = client_for("k"), client_for(None)
    tpl = api.post("/v1/templates", json={"name": "t", "imageName": "i", "isServerless": True})
    body = {"templateId": tpl.json()["id"], "flashboot": False, "workersMax": 1}
    plain = api.post("/v1/endpoints", json=body).json()
    assert api.get(f"/v2/serverless/{plain['id']}").json()["flashboot"] == "OFF"
    admin.patch("/_emulator/quirks", json={"v1_ignore_flashboot_false_on_create": True})
    quirky = api.post("/v1/endpoints", json=body).json()
    assert api.get(f"/v2/serverless/{quirky['id']}").json()["flashboot"] == "FLASHBOOT"
    fixed = api.patch(f"/v1/endpoints/{quirky['id']}", json={"flashboot": False})
    assert fixed.status_code == 200  # the live workaround: patch it off afterwards
    assert api.get(f"/v2/serverless/{quirky['id']}").json()["flashboot"] == "OFF"


def test_v1_live_error_shape_quirk(local_runpod: LocalRunPod, api: httpx.Client) -> None:
    local_runpod.backend.quirks.v1_live_error_shape = True
    r = api.post("/v1/endpoints", json={"templateId": "x", "scaling": {}})
    assert r.status_code == 400
    assert r.json()["problems"] == [
        "key provided in request body which is not in input schema: 'scaling'"
    ]
    assert "error" in r.json()


def test_v1_volume_500s_quirk(local_runpod: LocalRunPod, api: httpx.Client) -> None:
    assert api.delete("/v1/networkvolumes/missing000").status_code == 404
    local_runpod.backend.quirks.v1_volume_500s = True
    gone = api.delete("/v1/networkvolumes/missing000")
    assert gone.status_code == 500 and gone.json()["status"] == 500
    moon = api.post("/v1/networkvolumes", json={"name": "m", "size": 10, "dataCenterId": "MOON"})
    assert moon.status_code == 500 and "MOON" in moon.json()["error"]


def test_opt_in_rate_limits(local_runpod: LocalRunPod, client_for: Any) -> None:
    api, other = client_for("busy"), client_for("quiet")
    assert "RateLimit" not in api.get("/v2/templates").headers  # off by default
    clock = [1000.0]
    local_runpod.backend.rate_limits.clock = lambda: clock[0]
    client_for(None).put("/_emulator/rate-limits", json={"minute": 2, "hour": 100})
    first = api.get("/v2/templates")
    assert first.headers["RateLimit-Policy"] == '"minute";q=60;w=60, "hour";q=100;w=3600'.replace(
        "q=60", "q=2"
    )
    assert first.headers["RateLimit"].startswith('"minute";r=1;t=')
    api.get("/v2/templates")
    refused = api.get("/v2/templates")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "20"
    assert "minute window" in refused.json()["detail"]
    assert other.get("/v2/templates").status_code == 200  # limits are per account
    assert api.get("/v1/templates").status_code == 200  # v1 documents no rate limits
    clock[0] += 20
    assert api.get("/v2/templates").status_code == 200  # a new minute window


def test_echo_fault_quotes_the_request_back(local_runpod: LocalRunPod, api: httpx.Client) -> None:
    """The fault secret-leak tests rely on: a refusal that repeats what the client sent."""
    local_runpod.backend.faults.add("POST /v2/*/run", echo_status=401)
    local_runpod.backend.faults.add("POST /v2/templates", echo_status=400)
    local_runpod.backend.faults.add("/v1/*", echo_status=400)
    r = api.post("/v2/ep1/run?token=q-secret", json={"input": {"s": "body-secret"}})
    assert r.status_code == 401
    echoed = r.json()["error"]
    assert "token=q-secret" in echoed and "body-secret" in echoed
    assert f"auth={api.headers['authorization']}" in echoed
    r = api.post("/v2/templates", json={"name": "t", "image": "i", "env": {"A": "env-secret"}})
    assert r.status_code == 400 and "env-secret" in r.json()["detail"]
    assert "Authorization" not in r.json()["detail"] and "auth=Bearer" in r.json()["detail"]
    assert "auth=Bearer" in api.get("/v1/endpoints").json()["message"]
    assert api.get("/v2/templates").status_code == 200  # other routes untouched


def test_echo_fault_spec() -> None:
    assert parse_spec("POST /v2/*/run:echo=401").echo_status == 401
    with pytest.raises(ValueError, match="must be a 4xx code"):
        parse_spec("POST /v2/*/run:echo=503")
