"""What a worker process is started with, and the emulated nvidia-smi's formats (no I/O)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podkit.emulator.dataplane import EndpointRuntime
from podkit.emulator.dataplane.gpu_shim import DRIVER, gpu_spec
from podkit.emulator.dataplane.nvidia_smi import main as nvidia_smi
from podkit.emulator.dataplane.worker_env import worker_env

HOST = {"PATH": "/usr/bin", "HOME": "/home/u", "RUNPOD_API_KEY": "user-secret", "PODKIT_X": "1"}


def test_worker_env_sets_the_sdk_protocol_and_drops_host_secrets() -> None:
    runtime = EndpointRuntime(
        "ep1", "acct", env={"MODEL": "m", "RUNPOD_POD_ID": "spoof"}, volume_dir=Path("/vol")
    )
    env = worker_env(
        runtime,
        origin="http://127.0.0.1:9/",
        worker_id="w1",
        token="tok",
        ping_interval_ms=200,
        shim_dir=Path("/shim"),
        host_env=HOST,
    )
    assert "RUNPOD_API_KEY" not in env and "PODKIT_X" not in env
    assert env["RUNPOD_WEBHOOK_GET_JOB"] == (
        "http://127.0.0.1:9/_worker/ep1/job-take/$ID?gpu=NVIDIA+GeForce+RTX+4090"
    )
    assert env["RUNPOD_WEBHOOK_POST_OUTPUT"].endswith(
        "/job-done/$RUNPOD_POD_ID/$ID?gpu=NVIDIA+GeForce+RTX+4090"
    )
    assert env["RUNPOD_POD_ID"] == "w1" and env["RUNPOD_AI_API_KEY"] == "tok"
    assert env["RUNPOD_PING_INTERVAL"] == "1000"
    assert env["RUNPOD_SKIP_AUTO_SYSTEM_CHECKS"] == "true"
    assert env["MODEL"] == "m" and env["PODKIT_VOLUME_DIR"] == "/vol"
    assert env["PATH"] == "/shim:/usr/bin" and env["PODKIT_EMULATED_GPU"] == "1"


def _spec(gpu: str, count: int = 1) -> str:
    return json.dumps({**gpu_spec(gpu), "count": count, "driver": DRIVER, "cuda": "12.8"})


def test_nvidia_smi_query_formats(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"]
    assert nvidia_smi(args, _spec("AMPERE_80", count=2)) == 0
    line = f"NVIDIA A100 80GB PCIe, 81920, {DRIVER}"
    assert capsys.readouterr().out == f"{line}\n{line}\n"
    assert nvidia_smi(["--query-gpu=memory.used", "--format=csv"], _spec("NVIDIA L4")) == 0
    assert capsys.readouterr().out == "memory.used [MiB]\n1 MiB\n"
    assert nvidia_smi(["--query-gpu=bogus", "--format=csv"], _spec("ADA_24")) == 2


def test_nvidia_smi_table_names_the_card_and_says_emulated(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert nvidia_smi([], _spec("NVIDIA H100 80GB HBM3")) == 0
    out = capsys.readouterr().out
    assert "NVIDIA H100 80GB HBM3" in out and "81559MiB" in out
    assert "emulated" in out and f"Driver Version: {DRIVER}" in out
