"""The worker action `sync_models` (alias `download_models`) through the real runpod SDK."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from podkit.worker.actions.sync_models import SyncModelsInput, run_sync
from podkit.worker.registry import ActionContext
from tests.functional.sync.testbed import Nginx, write_hf_repo
from tests.functional.worker.sdk import run_test_input, worker_env

TOKEN = "hf_SECRET_token_value_123"


def _env(tmp_path: Path, nginx: Nginx) -> tuple[dict[str, str], Path]:
    volume = tmp_path / "vol"
    volume.mkdir()
    env = worker_env(
        tmp_path,
        {
            "PODKIT_VOLUME_DIR": str(volume),
            "PODKIT_ALLOWED_ROOTS": "/runpod-volume",
            "HF_ENDPOINT": f"{nginx.url}/hf",
            "HF_TOKEN": TOKEN,
        },
    )
    return env, volume


def test_sync_models_places_files_and_reports(tmp_path: Path, sync_nginx: Nginx) -> None:
    files = {"model.safetensors": b"w" * 300_000, "config.json": b"{}"}
    write_hf_repo(sync_nginx.www, "act/model", files)
    env, volume = _env(tmp_path, sync_nginx)
    job = {
        "action": "sync_models",
        "models": [{"source": "hf://act/model@main", "destination": "/runpod-volume/m"}],
        "timeout_s": 600,
    }
    shot = run_test_input(job, env)
    assert shot.returncode == 0, shot.log
    assert shot.result is not None
    output = shot.result["output"]
    assert output["status"] == "ok"
    assert output["entries"][0]["fetched"] == 2
    for path, data in files.items():
        digest = hashlib.sha256((volume / "m" / path).read_bytes()).hexdigest()
        assert digest == hashlib.sha256(data).hexdigest()
    assert TOKEN not in shot.log
    assert "Failed to return job results" not in shot.log  # no progress without a job-done URL


def test_download_models_alias_dry_run_lists_what_is_missing(
    tmp_path: Path, sync_nginx: Nginx
) -> None:
    write_hf_repo(sync_nginx.www, "act/plan", {"a.bin": b"a" * 10, "b.json": b"{}"})
    env, volume = _env(tmp_path, sync_nginx)
    job = {
        "action": "download_models",
        "models": [{"source": "hf://act/plan", "destination": "plan"}],
        "dry_run": True,
    }
    shot = run_test_input(job, env)
    assert shot.returncode == 0, shot.log
    assert shot.result is not None
    entry = shot.result["output"]["entries"][0]
    assert [item["path"] for item in entry["to_fetch"]] == ["a.bin", "b.json"]
    assert entry["bytes_to_fetch"] == 12
    assert not (volume / "plan").exists()


def test_a_failed_sync_is_one_job_error(tmp_path: Path, sync_nginx: Nginx) -> None:
    env, _ = _env(tmp_path, sync_nginx)
    job = {
        "action": "sync_models",
        "models": [{"source": f"{sync_nginx.url}/no/such/file.bin", "destination": "x"}],
    }
    shot = run_test_input(job, env)
    assert shot.returncode == 1
    assert shot.result is not None
    assert "file.bin" in shot.result["error"] and "404" in shot.result["error"]
    assert "Traceback" not in shot.log


def test_bad_entry_names_the_field(tmp_path: Path, sync_nginx: Nginx) -> None:
    env, _ = _env(tmp_path, sync_nginx)
    job = {"action": "sync_models", "models": [{"source": "gs://b/x", "destination": "/etc"}]}
    shot = run_test_input(job, env)
    assert shot.returncode == 1
    assert shot.result is not None
    assert "models.0.destination" in shot.result["error"]


class _Capture(ActionContext):
    def __init__(self) -> None:
        super().__init__(job={"id": "job-1"})
        object.__setattr__(self, "updates", [])

    def progress(self, update: Any) -> None:
        self.updates.append(update)  # type: ignore[attr-defined]


def test_progress_updates_are_numbered_and_end_with_done(
    tmp_path: Path, sync_nginx: Nginx, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_hf_repo(sync_nginx.www, "act/progress", {"w.bin": b"p" * 3_000_000})
    volume = tmp_path / "vol"
    volume.mkdir()
    monkeypatch.setenv("PODKIT_VOLUME_DIR", str(volume))
    monkeypatch.setenv("HF_ENDPOINT", f"{sync_nginx.url}/hf")
    params = SyncModelsInput.model_validate(
        {"models": [{"source": "hf://act/progress", "destination": "p"}], "progress_every_s": 0.1}
    )
    ctx = _Capture()
    result = run_sync(params, ctx, report_progress=True)
    assert result["status"] == "ok"
    updates = ctx.updates  # type: ignore[attr-defined]
    assert [u["seq"] for u in updates] == list(range(1, len(updates) + 1))
    assert updates[-1]["phase"] == "done"
    assert updates[-1]["bytes_done"] == updates[-1]["bytes_total"] == 3_000_000
    assert updates[-1]["files_done"] == 1


def test_the_connection_budget_is_a_number_from_1_to_64_or_auto() -> None:
    models = [{"source": "hf://act/budget", "destination": "b"}]
    assert SyncModelsInput.model_validate({"models": models}).connections == "auto"
    assert SyncModelsInput.model_validate({"models": models, "connections": 8}).connections == 8
    for wrong in (0, 65, "fast", "8", 8.0):
        with pytest.raises(ValidationError):
            SyncModelsInput.model_validate({"models": models, "connections": wrong})
