"""`podkit models sync --endpoint` end to end: the local RunPod runs the real podkit worker
(runpod SDK) with the endpoint's network volume; the CLI submits `sync_models` with /run,
polls /status, relays progress, and the files land on the volume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from podkit.cli._models_remote import execution_timeout_s, run_remote
from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from podkit.runpod.jobs import JobsClient, PollPolicy
from tests.functional.sync.testbed import Nginx, write_hf_repo

pytest.importorskip("podkit.emulator.dataplane", reason="needs the local RunPod's data plane")

KEY = "sync-e2e-key"


def _endpoint(local_runpod: LocalRunPod, hf_origin: str) -> tuple[str, Path]:
    api = httpx.Client(
        base_url=local_runpod.url, timeout=60, headers={"Authorization": f"Bearer {KEY}"}
    )
    vol = api.post("/v1/networkvolumes", json={"name": "m", "size": 10, "dataCenterId": "US-KS-2"})
    template = api.post(
        "/v1/templates",
        json={
            "name": "podkit-worker",
            "imageName": "ghcr.io/acme/podkit-worker:1",
            "isServerless": True,
            "env": {"HF_ENDPOINT": f"{hf_origin}/hf"},
        },
    )
    endpoint = api.post(
        "/v1/endpoints",
        json={
            "templateId": template.json()["id"],
            "workersMax": 1,
            "networkVolumeId": vol.json()["id"],
        },
    ).json()
    api.close()
    return str(endpoint["id"]), local_runpod.backend.volume_dir(vol.json()["id"])


def test_models_sync_on_the_endpoint(
    tmp_path: Path,
    local_runpod: LocalRunPod,
    sync_nginx: Nginx,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = {"model.safetensors": b"m" * 3_000_000, "config.json": b'{"a": 1}'}
    write_hf_repo(sync_nginx.www, "e2e/model", files)
    endpoint_id, volume = _endpoint(local_runpod, sync_nginx.url)
    config = tmp_path / "podkit.toml"
    config.write_text('[[models]]\nsource = "hf://e2e/model"\ndestination = "models/e2e"\n')
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    args = ["models", "sync", "-c", str(config), "--endpoint", endpoint_id]
    assert main([*args, "--target", local_runpod.url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "ok"
    assert report["connections"] >= 16  # "auto": from 16, grown while the rate follows
    for path, data in files.items():
        assert (volume / "models/e2e" / path).read_bytes() == data
    assert main([*args, "--target", local_runpod.url, "--json", "--connections", "3"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["data_requests"] == 0
    assert again["connections"] == 3  # a fixed budget reaches the worker as given


def test_progress_reaches_the_client(local_runpod: LocalRunPod, sync_nginx: Nginx) -> None:
    write_hf_repo(sync_nginx.www, "e2e/slow", {"w.safetensors": b"s" * (8 * 1024 * 1024)})
    # The slow port (2 MiB/s per connection) keeps the job running for a few seconds.
    endpoint_id, volume = _endpoint(local_runpod, sync_nginx.slow_url)
    seen: list[dict[str, Any]] = []
    job = {
        "models": [{"source": "hf://e2e/slow", "destination": "slow"}],
        "connections": 1,
        "progress_every_s": 0.1,
    }
    client = JobsClient(
        endpoint_id,
        api_key=KEY,
        base_url=f"{local_runpod.url}/v2",
        poll=PollPolicy(initial=0.1, maximum=0.2, on_change=0.1),
    )
    with client:
        output = run_remote(job, client=client, on_progress=seen.append)
    assert output["status"] == "ok"
    assert seen and all(update["kind"] == "sync_models" for update in seen)
    assert [u["seq"] for u in seen] == sorted({u["seq"] for u in seen})
    assert (volume / "slow/w.safetensors").stat().st_size == 8 * 1024 * 1024


def test_the_endpoint_execution_timeout_is_read_for_the_deadline(
    local_runpod: LocalRunPod, sync_nginx: Nginx
) -> None:
    endpoint_id, _ = _endpoint(local_runpod, sync_nginx.url)
    env = {"RUNPOD_API_KEY": KEY}
    api = httpx.Client(base_url=local_runpod.url, headers={"Authorization": f"Bearer {KEY}"})
    api.patch(f"/v2/serverless/{endpoint_id}", json={"timeout": 123_000}).raise_for_status()
    api.close()
    assert execution_timeout_s(endpoint_id, local_runpod.url, env) == 123.0
    assert execution_timeout_s("no-such-endpoint", local_runpod.url, env) is None
