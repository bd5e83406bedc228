"""The typed client over httpx.MockTransport: error shapes, key handling, targets.

The local RunPod covers the happy paths (tests/functional); these cases pin what an emulator
cannot easily produce: exact live error bodies and a server that echoes the key back.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from podkit._http import NO_RETRY
from podkit.errors import (
    AuthError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    ServerError,
)
from podkit.runpod import ApiKey, connect, load_api_key, resolve_target
from podkit.runpod.types import v2

KEY = "rpa_SECRETKEY1234567890"


def client(handler, api="v2"):  # type: ignore[no-untyped-def]
    return connect(
        api,
        target="http://127.0.0.1:9",
        key=ApiKey(KEY, "test"),
        transport=httpx.MockTransport(handler),
        retry=NO_RETRY,
    )


def problem(status: int, detail: str, errors: list[str] | None = None) -> httpx.Response:
    body = {"title": "Unprocessable Entity", "status": status, "detail": detail}
    if errors:
        body["errors"] = errors  # type: ignore[assignment]
    return httpx.Response(
        status, content=json.dumps(body), headers={"Content-Type": "application/problem+json"}
    )


def test_v2_problem_details_are_quoted_with_their_errors() -> None:
    c = client(
        lambda r: problem(
            422, "Request validation failed.", ["$: additional properties 'bogus' not allowed"]
        )
    )
    with pytest.raises(InvalidRequestError) as info:
        c.network_volumes.create(v2.NetworkVolumeCreate(name="v", size=10, data_center="EU-RO-1"))
    text = str(info.value)
    assert "POST /v2/network-volumes -> 422" in text
    assert "additional properties 'bogus' not allowed" in text
    assert info.value.status == 422


def test_v1_error_bodies_are_quoted() -> None:
    body = {"error": "Extra input keys provided in request body", "problems": ["key 'scaling'"]}
    c = client(lambda r: httpx.Response(400, json=body), api="v1")
    with pytest.raises(InvalidRequestError, match=r"Extra input keys.*key 'scaling'"):
        c.endpoints.list()
    c = client(lambda r: httpx.Response(404, json={"message": "Endpoint not found"}), api="v1")
    with pytest.raises(NotFoundError, match="Endpoint not found"):
        c.endpoints.get("abc")


def test_the_key_is_sent_but_never_shown() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(401, json={"message": f"key {KEY} is not valid"})

    c = client(handler)
    with pytest.raises(AuthError) as info:
        c.endpoints.list()
    assert seen == [f"Bearer {KEY}"]
    assert KEY not in str(info.value)
    assert KEY not in repr(c)
    assert KEY not in repr(ApiKey(KEY, "x")) + str(ApiKey(KEY, "x"))
    assert "the API key from test " in (info.value.hint or "")  # names the source


def test_5xx_after_retries_and_garbage_bodies_are_server_errors() -> None:
    c = client(lambda r: httpx.Response(503, text="upstream down"))
    with pytest.raises(ServerError, match="upstream down"):
        c.endpoints.get("x")
    c = client(lambda r: httpx.Response(200, text="<html>"))
    with pytest.raises(ServerError, match="not JSON"):
        c.endpoints.get("x")
    c = client(lambda r: httpx.Response(200, json={"endpoints": [{"id": 1}]}))
    with pytest.raises(ServerError, match="Endpoint shape"):
        c.endpoints.list()


def test_lists_unwrap_v2_objects_and_v1_arrays() -> None:
    vol = {"id": "v1", "name": "models", "size": 20, "dataCenter": "EU-RO-1", "extra": True}
    c = client(lambda r: httpx.Response(200, json={"networkVolumes": [vol]}))
    assert [v.data_center for v in c.network_volumes.list()] == ["EU-RO-1"]
    v1vol = {"id": "v1", "name": "models", "size": 20, "dataCenterId": "EU-RO-1"}
    c1 = client(lambda r: httpx.Response(200, json=[v1vol]), api="v1")
    assert [v.data_center_id for v in c1.network_volumes.list()] == ["EU-RO-1"]


def test_ids_go_into_the_path_and_update_sends_only_set_fields() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"id": "vol_A-1", "name": "n", "size": 30, "dataCenter": "X"}
        )

    client(handler).network_volumes.update("vol_A-1", v2.NetworkVolumeUpdate(size=30))
    assert seen[0].url.raw_path == b"/v2/network-volumes/vol_A-1"
    assert json.loads(seen[0].content) == {"size": 30}


@pytest.mark.parametrize("bad", ["..", ".", "a b", "../serverless", "x/y", "x?y=1", "", "\x1b[2J"])
def test_an_id_that_is_not_one_is_refused_before_any_request(bad: str) -> None:
    seen: list[httpx.Request] = []
    c = client(lambda r: seen.append(r) or httpx.Response(204))  # type: ignore[func-returns-value]
    calls = (c.endpoints.delete, c.templates.get, c.network_volumes.delete, c.releases.list)
    for call in (*calls, c.workers.list):
        with pytest.raises(InvalidRequestError, match="is not an id"):
            call(bad)
    assert seen == []  # '..' would have become DELETE /v2, a 404 read as "already gone"


@pytest.mark.parametrize("bad", ["..", "a/b", 7, None, "x" * 200])
def test_a_listed_object_whose_id_cannot_be_one_fails_the_listing(bad: object) -> None:
    good = {"id": "vol1", "name": "ok", "size": 20, "dataCenter": "EU-RO-1"}
    wrong = {**good, "id": bad}
    c = client(lambda r: httpx.Response(200, json={"networkVolumes": [good, wrong]}))
    with pytest.raises(ServerError, match=r"network volume list, item 1: ") as info:
        c.network_volumes.list()
    assert len(info.value.message) < 400


def test_a_created_object_whose_id_cannot_be_one_is_a_server_error() -> None:
    answer = {"id": "../..", "name": "n", "size": 1, "dataCenter": "X"}
    c = client(lambda r: httpx.Response(200, json=answer))
    with pytest.raises(ServerError, match=r"new network volume: the API answered the id '\.\./"):
        c.network_volumes.create(v2.NetworkVolumeCreate(name="n", size=1, data_center="X"))


@pytest.mark.parametrize(
    ("status", "location", "shown"),
    [
        (
            302,
            f"https://user:{KEY}@elsewhere.example:8443/steal?token={KEY}",
            "https://elsewhere.example:8443",
        ),
        (301, "http://127.0.0.2/v2/serverless", "http://127.0.0.2"),
        (307, "/v3/serverless", "http://127.0.0.1:9"),
        (308, "http://[evil", "an unreadable address"),
        (304, None, "a redirect or cache answer"),
    ],
)
def test_a_redirect_is_never_followed_and_names_only_its_origin(
    status: int, location: str | None, shown: str
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {"Location": location} if location is not None else {}
        return httpx.Response(status, headers=headers)

    with pytest.raises(ServerError) as info:
        client(handler).endpoints.list()
    said = str(info.value)
    assert f"-> {status}: " in said and shown in said and "not follow redirects" in said
    assert KEY not in said and "token" not in said and "steal" not in said
    assert [r.url.host for r in seen] == ["127.0.0.1"]


def test_targets() -> None:
    assert resolve_target(None, {}).control_v2 == "https://api.runpod.io"
    assert resolve_target(None, {}).control_v1 == "https://rest.runpod.io"
    local = resolve_target("local", {"PODKIT_LOCAL_URL": "http://127.0.0.1:9999/"})
    assert {local.control_v2, local.control_v1, local.data_plane} == {"http://127.0.0.1:9999"}
    assert resolve_target(None, {"PODKIT_TARGET": "local"}).control_v2 == "http://127.0.0.1:8765"
    assert resolve_target("http://127.0.0.1:1", {}).data_plane == "http://127.0.0.1:1"
    assert resolve_target("http://127.0.0.1:1/gateway/", {}).control_v2 == (
        "http://127.0.0.1:1/gateway"
    )
    with pytest.raises(ConfigError, match="not an http"):
        resolve_target("ftp://x", {})


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("http://127.0.0.1:1/?token=abc", "query string"),
        ("http://127.0.0.1:1?", "query string"),
        ("http://127.0.0.1:1/#frag", "query string or fragment"),
        ("http://:8765", "names no host"),
        ("http://127.0.0.1:99999", "not a valid URL"),
        ("http://127.0.0.1:0", "port 0 is no port"),
        ("http://[::1", "not a valid URL"),
    ],
)
def test_targets_that_cannot_take_an_api_path_are_refused(target: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        resolve_target(target, {})


def test_key_from_env_then_profile_file(tmp_path: Path) -> None:
    assert load_api_key({"RUNPOD_API_KEY": " k1 "}, tmp_path).reveal() == "k1"
    creds = tmp_path / ".config" / "podkit" / "credentials.toml"
    creds.parent.mkdir(parents=True)
    creds.write_text('[default]\napi_key = "k2"\n[ci]\napi_key = "k3"\n')
    assert load_api_key({}, tmp_path).reveal() == "k2"
    assert load_api_key({"PODKIT_PROFILE": "ci"}, tmp_path).reveal() == "k3"
    with pytest.raises(AuthError, match="no RunPod API key"):
        load_api_key({"PODKIT_PROFILE": "nope"}, tmp_path)
    creds.write_text("[default]\napi_key = 3\n")
    with pytest.raises(ConfigError, match="no api_key string"):
        load_api_key({}, tmp_path)


def test_a_connection_error_never_shows_target_credentials() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    c = connect(
        "v2",
        target="http://deploy:pw-in-url@127.0.0.1:9",
        key=ApiKey(KEY, "test"),
        transport=httpx.MockTransport(refuse),
        retry=NO_RETRY,
    )
    with pytest.raises(Exception) as caught:
        c.endpoints.list()
    text = str(caught.value)
    assert "pw-in-url" not in text and "127.0.0.1:9" in text and "deploy:" not in text
