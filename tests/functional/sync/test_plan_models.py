"""`podkit plan` and the models on the volume, against the local RunPod running the real
podkit worker: before apply it says the sync comes after; once the endpoint exists a
`sync_models` dry run tells what is missing, stale or current, in the terminal, JSON and
Markdown, without changing plan's exit code (infrastructure only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.sync.testbed import Nginx, write_hf_repo

pytest.importorskip("podkit.emulator.dataplane", reason="needs the local RunPod's data plane")

KEY = "rpa_models_plan_SECRET_77"
CONFIG = """\
project = "modelplan"

[image]
ref = "ghcr.io/acme/worker:1@sha256:{digest}"

[worker]
env = {{ HF_ENDPOINT = "{hf}/hf", PODKIT_SKIP_CPUINFO = "true" }}

[volume]
name = "models"
size_gb = 20
datacenter = "EU-RO-1"

[endpoint]
gpu_types = ["NVIDIA GeForce RTX 4090"]
workers_max = 1

[[models]]
source = "hf://plan/model"
destination = "models/plan"
"""
FILES = {"model.safetensors": b"w" * 2_000_000, "config.json": b'{"layers": 2}'}


@pytest.fixture
def project(
    tmp_path: Path, local_runpod: LocalRunPod, sync_nginx: Nginx, monkeypatch: pytest.MonkeyPatch
) -> Path:
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    monkeypatch.setenv("PODKIT_TARGET", local_runpod.url)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)
    write_hf_repo(sync_nginx.www, "plan/model", FILES)
    (tmp_path / "podkit.toml").write_text(CONFIG.format(digest="a" * 64, hf=sync_nginx.url))
    return tmp_path


def _plan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["plan", "--json", *args])
    out, err = capsys.readouterr()
    assert KEY not in out + err
    return code, json.loads(out)


def test_plan_reports_the_models_on_the_volume(
    project: Path, sync_nginx: Nginx, capsys: pytest.CaptureFixture[str]
) -> None:
    code, before = _plan(capsys)
    assert code == 2 and before["models"]["state"] == "after_apply"
    assert before["models"]["entries"] == 1
    assert main(["plan"]) == 2
    said = " ".join(capsys.readouterr().out.split())
    assert "the endpoint does not exist yet" in said
    assert "will be fetched by `podkit models sync` after apply" in said

    assert main(["apply", "--yes"]) == 0
    capsys.readouterr()
    summary = project / "summary.md"
    code, fresh = _plan(capsys, "--markdown", str(summary))
    models = fresh["models"]
    assert code == 0, "missing models do not change the exit code"
    assert models["state"] == "checked" and models["where"].startswith("endpoint ")
    assert (models["files"], models["current"], models["stale"]["count"]) == (2, 0, 0)
    assert models["missing"]["count"] == 2
    assert models["missing"]["bytes"] == models["bytes_to_fetch"] == sum(map(len, FILES.values()))
    paths = {p["path"] for p in models["missing"]["paths"]}
    assert paths == {f"models/plan/{name}" for name in FILES}
    markdown = summary.read_text()
    assert "#### Models on the volume" in markdown
    assert "2 missing (2.0 MB), 0 stale (0 B), 0 current" in markdown
    assert "- missing: `models/plan/model.safetensors (missing, 2.0 MB)`" in markdown

    assert main(["models", "sync", "--json"]) == 0
    write_hf_repo(sync_nginx.www, "plan/model", {**FILES, "config.json": b'{"layers": 3}'})
    capsys.readouterr()
    assert main(["plan"]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "models on the volume: 0 missing (0 B), 1 stale (13 B), 1 current" in said
    assert "~ models/plan/config.json (changed at the source, 13 B)" in said


def test_skipped_local_and_timed_out_checks(
    project: Path,
    sync_nginx: Nginx,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["apply", "--yes"]) == 0
    capsys.readouterr()
    code, skipped = _plan(capsys, "--no-models")
    assert code == 0 and skipped["models"]["state"] == "skipped"
    assert skipped["models"]["missing"]["count"] == 0

    volume = project / "volume"
    monkeypatch.setenv("HF_ENDPOINT", f"{sync_nginx.url}/hf")  # --local lists from here
    code, local = _plan(capsys, "--local", str(volume))
    assert code == 0 and local["models"]["state"] == "checked", local["models"]["reason"]
    assert local["models"]["where"] == f"local {volume}"
    assert local["models"]["missing"]["count"] == 2
    assert not volume.exists(), "a check writes nothing"

    code, late = _plan(capsys, "--models-timeout", "1ms")
    assert code == 0 and late["models"]["state"] == "unavailable"
    assert "did not finish within 0.001s (cancelled)" in late["models"]["reason"]


def test_a_project_without_models_has_no_models_section(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = project / "podkit.toml"
    config.write_text(config.read_text().split("[[models]]")[0])
    code, plan = _plan(capsys)
    assert code == 2 and plan["models"] is None
    assert main(["plan"]) == 2
    assert "models on the volume" not in capsys.readouterr().out
