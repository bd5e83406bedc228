"""Configured API keys: 401 before anything else on every API path, scopes as 403."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from podkit.emulator.openapi.responses import response_problems
from podkit.emulator.server import LocalRunPod, key_specs
from podkit.errors import EmulatorError

OWNER, READER, NOBODY = "rpa_owner_0001", "rpa_reader_0002", "rpa_none_0003"
RESTRICTED = "rpa_restricted_0004"
KEYS = [
    OWNER,
    f"{READER}:read",
    f"{NOBODY}:none",
    f"{RESTRICTED}:api=read,endpoint/allowed=write,endpoint/watched=read",
]
# Every kind of path: served (v2, v1), not emulated (501), unknown (404), wrong method (405),
# and the data plane of an endpoint that does not exist.
PATHS = [
    ("GET", "/v2/serverless", "v2"),
    ("POST", "/v2/templates", "v2"),
    ("GET", "/v2/pods", "v2"),
    ("DELETE", "/v2/billing", "v2"),
    ("GET", "/v2/serverless/x/nothing-here", "v2"),
    ("GET", "/v1/endpoints", "v1"),
    ("POST", "/v1/pods", "v1"),
    ("GET", "/v1/no-such-thing", "v1"),
    ("POST", "/v2/nosuchendpoint/run", "data"),
    ("GET", "/v2/nosuchendpoint/health", "data"),
    ("GET", "/v2/nosuchendpoint/unknown-op", "data"),
]


@pytest.fixture
def keyed() -> Iterator[LocalRunPod]:
    with LocalRunPod(seed=5, record=True, api_keys=KEYS) as runpod:
        yield runpod
    assert runpod.recorder is not None
    problems = [
        p
        for r in runpod.recorder.responses
        for p in response_problems(r.method, r.path, r.status, r.content_type, r.body)
    ]
    assert problems == []


def call(runpod: LocalRunPod, key: str | None, method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.request(method, runpod.url + path, headers=headers, timeout=10, **kw)


def assert_shape(response: httpx.Response, area: str, status: int) -> str:
    """The error text, after checking the body is in the generation's own shape."""
    assert response.status_code == status, (response.request.url, response.text)
    body = response.json()
    if area == "v2":
        assert response.headers["content-type"] == "application/problem+json"
        assert body["status"] == status
        return str(body["detail"])
    if area == "v1":
        assert set(body) == {"message"}
        return str(body["message"])
    assert set(body) == {"error"}
    return str(body["error"])


@pytest.mark.parametrize(("method", "path", "area"), PATHS)
def test_missing_and_unknown_keys_get_401_before_any_404_or_501(
    keyed: LocalRunPod, method: str, path: str, area: str
) -> None:
    missing = assert_shape(call(keyed, None, method, path), area, 401)
    assert "Bearer" in missing or "bearer" in missing
    unknown_key = "rpa_not_configured_9999"
    unknown = assert_shape(call(keyed, unknown_key, method, path), area, 401)
    assert "invalid API key" in unknown and unknown_key not in unknown
    assert call(keyed, OWNER, method, path).status_code in (200, 404, 405, 422, 501)


def test_open_mode_refuses_a_missing_key_before_404_and_501(local_runpod: LocalRunPod) -> None:
    for method, path, area in PATHS:
        assert_shape(call(local_runpod, None, method, path), area, 401)
    assert call(local_runpod, "any-key-at-all", "GET", "/v2/pods").status_code == 501


def test_the_documents_need_no_key(keyed: LocalRunPod) -> None:
    assert call(keyed, None, "GET", "/v2/openapi.json").status_code == 200
    assert call(keyed, None, "GET", "/v1/openapi.json").status_code == 200
    assert call(keyed, None, "GET", "/v1/docs").status_code == 501  # `security: []`, not served


def test_configured_keys_share_one_account(keyed: LocalRunPod) -> None:
    made = call(keyed, OWNER, "POST", "/v2/registries", json=registry("r"))
    assert made.status_code == 201
    listed = call(keyed, READER, "GET", "/v1/containerregistryauth").json()
    assert [r["id"] for r in listed] == [made.json()["id"]]


def registry(name: str) -> dict[str, str]:
    return {"name": name, "username": "u", "password": "p"}


def test_a_read_only_key_reads_but_every_write_is_403(keyed: LocalRunPod) -> None:
    assert call(keyed, READER, "GET", "/v2/templates").status_code == 200
    assert call(keyed, READER, "GET", "/v1/networkvolumes").status_code == 200
    v2 = call(keyed, READER, "POST", "/v2/registries", json=registry("r"))
    assert assert_shape(v2, "v2", 403).startswith("access denied")
    v1 = call(keyed, READER, "POST", "/v1/containerregistryauth", json=registry("r"))
    assert "read/write" in assert_shape(v1, "v1", 403)
    assert call(keyed, READER, "DELETE", "/v2/templates/whatever").status_code == 403
    assert call(keyed, OWNER, "GET", "/v2/registries").json() == {"registries": []}


def test_a_key_without_access_is_403_everywhere(keyed: LocalRunPod) -> None:
    assert assert_shape(call(keyed, NOBODY, "GET", "/v2/serverless"), "v2", 403)
    assert assert_shape(call(keyed, NOBODY, "GET", "/v1/templates"), "v1", 403)


def endpoint(runpod: LocalRunPod, name: str) -> str:
    body = {
        "name": name,
        "type": "QUEUE",
        "image": "acme/worker:1",
        "gpu": {"pools": ["ADA_24"]},
        "scaling": {"type": "QUEUE_DELAY", "queueDelay": 2},
        "workers": {"min": 0, "max": 0},  # jobs stay queued: no worker process starts
    }
    made = call(runpod, OWNER, "POST", "/v2/serverless", json=body)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_data_plane_scopes_per_endpoint(keyed: LocalRunPod) -> None:
    allowed, watched, other = (endpoint(keyed, n) for n in ("allowed", "watched", "other"))
    job = call(keyed, RESTRICTED, "POST", f"/v2/{allowed}/run", json={"input": {}})
    assert job.status_code == 200 and job.json()["status"] == "IN_QUEUE"
    status = call(keyed, RESTRICTED, "GET", f"/v2/{allowed}/status/{job.json()['id']}")
    assert status.status_code == 200
    assert call(keyed, RESTRICTED, "GET", f"/v2/{watched}/health").status_code == 200
    refused = call(keyed, RESTRICTED, "POST", f"/v2/{watched}/run", json={"input": {}})
    assert "may only read" in assert_shape(refused, "data", 403)
    assert call(keyed, RESTRICTED, "POST", f"/v2/{watched}/purge-queue").status_code == 403
    for op in ("health", "status/x"):
        denied = call(keyed, RESTRICTED, "GET", f"/v2/{other}/{op}")
        assert f"no access to endpoint {other}" in assert_shape(denied, "data", 403)
    # The restricted key's control-plane part is read-only.
    assert call(keyed, RESTRICTED, "GET", f"/v2/serverless/{other}").status_code == 200
    assert call(keyed, RESTRICTED, "DELETE", f"/v2/serverless/{allowed}").status_code == 403
    # A read-only key may read a job but not start one.
    assert call(keyed, READER, "GET", f"/v2/{allowed}/health").status_code == 200
    assert call(keyed, READER, "POST", f"/v2/{allowed}/run", json={"input": {}}).status_code == 403
    assert call(keyed, OWNER, "POST", f"/v2/{other}/run", json={"input": {}}).status_code == 200


def test_scope_overrides_through_the_admin_route(keyed: LocalRunPod) -> None:
    put = call(keyed, OWNER, "PUT", "/_emulator/key-scope", json={"scope": "read"})
    assert put.status_code == 200
    assert call(keyed, OWNER, "POST", "/v2/registries", json=registry("r")).status_code == 403
    stranger = call(keyed, "rpa_stranger", "PUT", "/_emulator/key-scope", json={"scope": "all"})
    assert stranger.status_code == 400 and "rpa_stranger" not in stranger.text
    bad = call(keyed, OWNER, "PUT", "/_emulator/key-scope", json={"scope": "api=maybe"})
    assert bad.status_code == 400 and "write, read or none" in bad.text
    call(keyed, OWNER, "PUT", "/_emulator/key-scope", json={"scope": None})
    assert call(keyed, OWNER, "POST", "/v2/registries", json=registry("r")).status_code == 201
    call(keyed, None, "POST", "/_emulator/reset", json={})
    assert call(keyed, "rpa_stranger", "GET", "/v2/serverless").status_code == 401


def test_key_specs_from_flags_and_file(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("# team keys\nrpa_one\n\nrpa_two:read\n", encoding="utf-8")
    assert key_specs(["rpa_zero:all"], keys_file) == ["rpa_zero:all", "rpa_one", "rpa_two:read"]
    keys_file.write_text("rpa_secret_value:readonly\n", encoding="utf-8")
    with pytest.raises(EmulatorError) as bad:
        key_specs([], keys_file)
    assert f"{keys_file} entry 1" in str(bad.value) and "rpa_secret_value" not in str(bad.value)
    with pytest.raises(EmulatorError) as empty:
        key_specs([":read"], None)
    assert "--api-key" in str(empty.value)
    with pytest.raises(EmulatorError) as gone:
        key_specs([], tmp_path / "missing")
    assert "cannot read the keys file" in str(gone.value)


@pytest.mark.parametrize(
    ("header", "status"),
    [(f"Bearer {OWNER}", 200), (f"bearer\t{OWNER}", 200), (OWNER, 200), (f"Bearer{OWNER}", 401)],
)
def test_the_bearer_scheme_is_a_word_of_its_own(
    keyed: LocalRunPod, header: str, status: int
) -> None:
    answer = httpx.get(f"{keyed.url}/v2/serverless", headers={"Authorization": header}, timeout=10)
    assert answer.status_code == status, answer.text
