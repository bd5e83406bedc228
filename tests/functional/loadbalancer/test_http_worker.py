"""`python -m podkit.worker --http` as a load-balancing worker on the local RunPod: the
health path and the actions as HTTP routes, model sync with progress as server-sent events."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from podkit.emulator.server import LocalRunPod
from tests.functional.loadbalancer.conftest import FAST, KEY

DC = "EU-RO-1"


@pytest.fixture(scope="module")
def podkit_runpod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRunPod]:
    """The local RunPod with its default worker command (podkit's worker, in HTTP mode)."""
    with LocalRunPod(state_dir=tmp_path_factory.mktemp("lbw"), loadbalancer_settings=FAST) as rp:
        yield rp


@pytest.fixture(scope="module")
def files_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("www")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def worker(podkit_runpod: LocalRunPod) -> Iterator[tuple[httpx.Client, Path]]:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=podkit_runpod.url, headers=headers, timeout=90) as api:
        volume = api.post(
            "/v2/network-volumes", json={"name": "models", "size": 10, "dataCenter": DC}
        ).json()
        made = api.post(
            "/v2/serverless",
            json={
                "name": "podkit-http", "type": "LOAD_BALANCER", "image": "acme/podkit:1",
                "gpu": {"pools": ["ADA_24"]}, "dataCenterIds": [DC],
                "networkVolumes": [volume["id"]],
                "scaling": {"type": "REQUEST_COUNT", "requestCount": 1},
                "workers": {"min": 1, "max": 1, "idleTimeout": 60},
            },
        )  # fmt: skip
        assert made.status_code == 201, made.text
        volume_dir = podkit_runpod.backend.volume_dir(volume["id"])
        (volume_dir / "models").mkdir(parents=True, exist_ok=True)
        (volume_dir / "models" / "tiny.bin").write_bytes(b"\0" * 512)
        base = made.json()["requestUrls"]["base"]
        with httpx.Client(base_url=base, headers=headers, timeout=90) as client:
            yield client, volume_dir


def test_health_and_actions_answer_over_http(worker: tuple[httpx.Client, Path]) -> None:
    client, _ = worker
    assert client.get("/ping").status_code == 200
    names = [a["name"] for a in client.get("/actions").json()["actions"]]
    assert {"gpu_info", "list_files", "disk_usage", "sync_models"} <= set(names)
    gpu = client.get("/gpu")
    assert gpu.status_code == 200, gpu.text
    assert gpu.json()["gpus"][0]["name"]
    listing = client.get("/files", params={"path": "/runpod-volume/models"}).json()
    assert [(f["path"], f["size"]) for f in listing["files"]] == [
        ("/runpod-volume/models/tiny.bin", 512)
    ]
    disk = client.get("/disk").json()
    assert disk["status"] == "success" and disk["roots"]


def test_bad_input_names_the_field(worker: tuple[httpx.Client, Path]) -> None:
    client, _ = worker
    answer = client.post("/actions/list_files", json={"nope": 1})
    assert answer.status_code == 400
    assert "field 'path'" in answer.json()["error"]
    unknown = client.post("/actions/nothing", json={})
    assert unknown.status_code == 404 and "valid actions" in unknown.json()["error"]


@pytest.mark.parametrize("body", [b'{"a":' * 5_000, b"[" * 10_000 + b"]" * 10_000])
def test_a_body_nested_past_reading_is_refused_in_words(
    worker: tuple[httpx.Client, Path], body: bytes
) -> None:
    client, _ = worker
    answer = client.post("/actions/list_files", content=body)
    assert answer.status_code == 400, answer.text
    assert "nests JSON too deeply" in answer.json()["error"]


def test_the_short_listing_takes_its_numbers_and_words_from_the_query(
    worker: tuple[httpx.Client, Path],
) -> None:
    client, volume_dir = worker
    deep = volume_dir / "models" / "a" / "b"
    deep.mkdir(parents=True, exist_ok=True)
    (deep / "deep.bin").write_bytes(b"x")
    query = {"path": "/runpod-volume/models", "recursive": "yes", "max_depth": "1", "limit": "1"}
    page = client.get("/files", params=query)
    assert page.status_code == 200, page.text
    listed = page.json()
    assert len(listed["files"]) + len(listed["directories"]) == 1 and listed["next_cursor"]
    everything = client.get("/files", params={**query, "max_depth": "5", "limit": "100"}).json()
    assert "/runpod-volume/models/a/b/deep.bin" in [f["path"] for f in everything["files"]]
    shallow = client.get("/files", params={**query, "limit": "100"}).json()
    assert "/runpod-volume/models/a/b/deep.bin" not in [f["path"] for f in shallow["files"]]
    vague = client.get("/files", params={**query, "recursive": "maybe"})
    assert vague.status_code == 400 and "recursive" in vague.json()["error"]


def test_model_sync_streams_progress_then_the_result(
    worker: tuple[httpx.Client, Path], files_server: tuple[str, Path]
) -> None:
    client, volume_dir = worker
    url, root = files_server
    (root / "weights.bin").write_bytes(b"w" * 200_000)
    body = {
        "models": [{"source": f"{url}/weights.bin", "destination": "/runpod-volume/m"}],
        "progress_every_s": 0.1,
    }
    events: list[tuple[str, Any]] = []
    with client.stream(
        "POST", "/models/sync", json=body, headers={"Accept": "text/event-stream"}
    ) as response:
        assert response.status_code == 200
        kind = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    assert events[-1][0] == "result", events
    assert events[-1][1]["status"] == "ok"
    assert any(kind == "progress" for kind, _ in events[:-1])
    assert (volume_dir / "m" / "weights.bin").read_bytes() == b"w" * 200_000


def test_a_separate_health_port_gets_its_own_listener(podkit_runpod: LocalRunPod) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=podkit_runpod.url, headers=headers, timeout=90) as api:
        made = api.post(
            "/v2/serverless",
            json={
                "name": "two-ports", "type": "LOAD_BALANCER", "image": "acme/podkit:1",
                "gpu": {"pools": ["ADA_24"]}, "ports": ["8000/http", "8001/http"],
                "env": {"PORT": "8000", "PORT_HEALTH": "8001", "HEALTH_CHECK_PATH": "/healthz"},
                "scaling": {"type": "REQUEST_COUNT", "requestCount": 1},
                "workers": {"min": 0, "max": 1, "idleTimeout": 60},
            },
        ).json()  # fmt: skip
        assert made["requestUrls"]["health"].endswith("/healthz")
        # Routed only once the health port answered 200; the app answers on the main port.
        answer = api.get(f"{made['requestUrls']['base']}/actions")
        assert answer.status_code == 200, answer.text
        assert api.get(f"{made['requestUrls']['base']}/healthz").status_code == 200
