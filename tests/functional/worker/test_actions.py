"""The built-in actions through the SDK's local API, as a client would call them."""

from __future__ import annotations

import json
import os

import pytest

from tests.functional.worker.conftest import SECRET, WorkerSetup


def test_list_files_output_shape(worker: WorkerSetup) -> None:
    body = worker.api.runsync({"action": "list_files", "path": "/runpod-volume/models/sd"})
    assert body["status"] == "COMPLETED", body
    out = body["output"]
    assert set(out) == {
        "status",
        "path",
        "directories",
        "files",
        "total_files",
        "total_directories",
        "next_cursor",
    }
    assert out["status"] == "success"
    assert out["path"] == "/runpod-volume/models/sd"
    [item] = out["files"]
    assert item["name"] == "unet.safetensors"
    assert item["path"] == "/runpod-volume/models/sd/unet.safetensors"
    assert item["size"] == 1234
    assert item["type"] == "file"
    assert item["modified"].endswith("Z")
    assert (out["total_files"], out["total_directories"], out["next_cursor"]) == (1, 0, None)


def test_list_files_pages_a_large_directory(worker: WorkerSetup) -> None:
    big = worker.workspace / "big"
    big.mkdir()
    for i in range(2500):
        (big / f"f{i:05d}.bin").write_bytes(b"")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        req = {"action": "list_files", "path": str(big), "limit": 1000}
        if cursor:
            req["cursor"] = cursor
        out = worker.api.runsync(req)["output"]
        assert len(out["files"]) <= 1000
        seen += [f["name"] for f in out["files"]]
        pages += 1
        cursor = out["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(f"f{i:05d}.bin" for i in range(2500))


def test_recursive_listing_respects_max_depth(worker: WorkerSetup) -> None:
    body = worker.api.runsync(
        {"action": "list_files", "path": "/runpod-volume/models", "recursive": True, "max_depth": 2}
    )
    paths = {d["path"] for d in body["output"]["directories"]}
    assert "/runpod-volume/models/deep/a" in paths
    assert "/runpod-volume/models/deep/a/b" not in paths


def test_cursor_from_another_listing_is_refused(worker: WorkerSetup) -> None:
    first = worker.api.runsync({"action": "list_files", "path": "/runpod-volume", "limit": 1})
    cursor = first["output"]["next_cursor"]
    assert cursor
    body = worker.api.runsync(
        {"action": "list_files", "path": "/runpod-volume/models", "cursor": cursor}
    )
    assert body["status"] == "FAILED"
    assert "field 'cursor'" in body["error"]
    garbage = worker.api.runsync(
        {"action": "list_files", "path": "/runpod-volume", "cursor": "not-a-cursor!"}
    )
    assert "field 'cursor'" in garbage["error"]


def test_disk_usage_reports_each_root(worker: WorkerSetup) -> None:
    body = worker.api.runsync({"action": "disk_usage"})
    assert body["status"] == "COMPLETED", body
    roots = {r["path"]: r for r in body["output"]["roots"]}
    vol = roots["/runpod-volume"]
    assert vol["exists"] is True
    assert vol["total_bytes"] >= vol["free_bytes"] > 0
    assert vol["used_bytes"] > 0
    assert vol["network_volume"] is False  # a local temp dir here
    assert "error" in roots[str(worker.link_root)]
    assert "total_bytes" not in roots[str(worker.link_root)]


@pytest.mark.parametrize(
    ("case", "name", "count", "cuda"),
    [
        ("h200_1gpu", "NVIDIA H200", 1, "12.4"),
        ("h100_2gpu", "NVIDIA H100 80GB HBM3", 2, "12.8"),
        ("a100_mig", "NVIDIA A100-SXM4-80GB", 1, "12.4"),
        ("na_fields", "NVIDIA L4", 1, "12.4"),
    ],
)
def test_gpu_info_from_nvidia_smi(
    worker: WorkerSetup, case: str, name: str, count: int, cuda: str
) -> None:
    worker.gpu_case(case)
    body = worker.api.runsync({"action": "gpu_info"})
    assert body["status"] == "COMPLETED", body
    out = body["output"]
    assert "NVIDIA-SMI" in out["gpu_info"]
    assert out["gpu_count"] == count
    assert out["gpus"][0]["name"] == name
    assert out["cuda_version"] == cuda
    assert out["worker"]["pod_id"] == "pod-abc123"
    assert out["worker"]["datacenter"] == "EU-RO-1"
    assert out["volume"]["mounted"] is True
    assert SECRET not in json.dumps(body)


@pytest.mark.parametrize("legacy", [{}, {"test": "nvidia-smi"}])
def test_legacy_inputs_mean_gpu_info(worker: WorkerSetup, legacy: dict[str, str]) -> None:
    worker.gpu_case("a100_mig")
    out = worker.api.runsync(legacy)["output"]
    assert out["gpus"][0]["mig_mode"] == "Enabled"
    assert out["gpus"][0]["utilization_gpu_percent"] is None


def test_broken_driver_is_a_job_error(worker: WorkerSetup) -> None:
    worker.gpu_case("broken")
    body = worker.api.runsync({"action": "gpu_info"})
    assert body["status"] == "FAILED"
    assert body["error"].startswith("nvidia-smi failed (exit 9): NVIDIA-SMI has failed")
    assert "Traceback" not in body["error"]


@pytest.mark.parametrize(
    ("job_input", "words"),
    [
        ({"action": "nope"}, ["unknown action 'nope'", "valid actions: disk_usage, gpu_info"]),
        ({"path": "/runpod-volume"}, ["field 'action' is missing", "valid actions"]),
        ({"action": 3}, ["field 'action' must be a string", "valid actions"]),
        ({"action": "disk_usage", "extra": 1}, ["field 'extra'", "disk_usage accepts"]),
        ({"action": "list_files"}, ["field 'path'", "Field required"]),
        ({"action": "list_files", "path": "/runpod-volume", "limit": 0}, ["field 'limit'"]),
        ({"action": "list_files", "path": "/runpod-volume", "limit": "5"}, ["field 'limit'"]),
    ],
)
def test_bad_input_names_the_field(
    worker: WorkerSetup, job_input: dict[str, object], words: list[str]
) -> None:
    body = worker.api.runsync(job_input)
    assert body["status"] == "FAILED", body
    for word in words:
        assert word in body["error"]


def test_undecodable_names_are_listed_as_valid_json(worker: WorkerSetup) -> None:
    odd = worker.workspace / "odd"
    odd.mkdir()
    (odd / os.fsdecode(b"caf\xe9.bin")).write_bytes(b"1")
    body = worker.api.runsync({"action": "list_files", "path": str(odd)})
    assert body["status"] == "COMPLETED", body
    assert [f["name"] for f in body["output"]["files"]] == ["caf\\xe9.bin"]


def test_secrets_never_reach_the_worker_log(worker: WorkerSetup) -> None:
    worker.gpu_case("h200_1gpu")
    worker.api.runsync({"action": "gpu_info"})
    worker.api.runsync({"action": "list_files", "path": "/proc/self/environ"})
    log = worker.api.log()
    assert "Uvicorn running on" in log  # the log is really being read
    assert SECRET not in log


def test_a_refused_query_still_returns_the_table(worker: WorkerSetup) -> None:
    worker.gpu_case("old_driver")
    body = worker.api.runsync({"action": "gpu_info"})
    assert body["status"] == "COMPLETED", body
    out = body["output"]
    assert "NVIDIA H200" in out["gpu_info"]
    assert out["gpus"] == []
    assert out["driver_version"] == "550.127.05"
    assert out["warnings"] == [
        'nvidia-smi failed (exit 2): Field "mig.mode.current" is not a valid field to query.'
    ]
