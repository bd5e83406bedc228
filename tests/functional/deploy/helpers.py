"""Shared set-up for deploy tests against the local RunPod: configs, clients, counters."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from podkit.cli.main import main
from podkit.config import Deployment, load_config
from podkit.deploy.lock import DeployLock
from podkit.deploy.model import Scope
from podkit.runpod import ApiKey, RunPodClient, connect

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
IMAGE_A = f"ghcr.io/acme/gpu-worker:0.1.0@{DIGEST_A}"
IMAGE_B = f"ghcr.io/acme/gpu-worker:0.2.0@{DIGEST_B}"

CONFIG = """\
project = "gpu-worker"

[image]
ref = "{image}"

[worker]
env = {{ LOG_LEVEL = "info" }}
secrets = {{ HF_TOKEN = "hf_token" }}

[volume]
name = "models"
size_gb = 20
datacenter = "EU-RO-1"

[endpoint]
gpu_types = ["NVIDIA GeForce RTX 4090"]
workers_min = 0
workers_max = {workers_max}
execution_timeout = "1h"

[env.staging.endpoint]
workers_max = 1
"""


def write_config(folder: Path, *, image: str = IMAGE_A, workers_max: int = 2) -> Path:
    path = folder / "podkit.toml"
    path.write_text(CONFIG.format(image=image, workers_max=workers_max), encoding="utf-8")
    return path


def cli_project(url: str, folder: Path, monkeypatch: pytest.MonkeyPatch, key: str) -> Path:
    """`folder` as a project with podkit.toml, the CLI pointed at the local RunPod at `url`
    with an account of its own (`key` and the folder's name)."""
    monkeypatch.setenv("PODKIT_TARGET", url)
    monkeypatch.setenv("RUNPOD_API_KEY", key + folder.name)
    monkeypatch.chdir(folder)
    write_config(folder)
    return folder


def run_staging(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """A podkit command on env staging: its exit code and all it printed, on one line."""
    code = main([*argv, "--env", "staging"])
    captured = capsys.readouterr()
    return code, " ".join((captured.out + captured.err).split())


def load(path: Path, env: str | None = "staging", **overrides: Any) -> Deployment:
    sets = [f"{k.replace('__', '.')}={v}" for k, v in overrides.items()]
    return load_config(path, env=env, overrides=sets).deployment


def new_key() -> ApiKey:
    """A fresh account on the local RunPod (any non-empty key is an account)."""
    return ApiKey(f"test-{uuid.uuid4().hex}", "test")


def client(url: str, key: ApiKey, api: str = "v2", **seams: Any) -> RunPodClient:
    return connect("v2" if api == "v2" else "v1", target=url, key=key, **seams)


def inventory(url: str, key: ApiKey, api: str) -> dict[str, list[str]]:
    """Names of every volume, template and endpoint on the account (duplicates visible)."""
    with client(url, key, api) as c:
        return {
            "volume": sorted(v.name for v in c.network_volumes.list()),
            "template": sorted(t.name for t in c.templates.list()),
            "endpoint": sorted(e.name or "" for e in c.endpoints.list()),
        }


SCOPE = Scope("gpu-worker", "staging")  # the deploy lock's scope in the lock tests


class Clock:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def lock_for(c: RunPodClient, clock: Clock, who: str, **kw: Any) -> tuple[DeployLock, list[str]]:
    """A deploy lock on `clock` for holder `who`, and the list its progress lines go to."""
    said: list[str] = []
    lock = DeployLock(
        c, SCOPE, holder=who, clock=clock, sleep=clock.sleep, progress=said.append, **kw
    )
    return lock, said
