"""`python -m podkit.worker --test_input ...`: the exit code CI reads, and user actions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.functional.worker.sdk import FIXTURES, run_test_input, worker_env


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    volume = tmp_path / "vol"
    (volume / "models").mkdir(parents=True, exist_ok=True)
    path = f"{FIXTURES / 'user_actions'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    return worker_env(
        tmp_path,
        {
            "PODKIT_VOLUME_DIR": str(volume),
            "PODKIT_ALLOWED_ROOTS": "/runpod-volume",
            "PYTHONPATH": path,
            **extra,
        },
    )


def test_success_exits_zero_with_the_result(tmp_path: Path) -> None:
    env = _env(tmp_path)
    env.pop("PODKIT_SKIP_CPUINFO")  # the default, unstubbed SDK import
    shot = run_test_input({"action": "list_files", "path": "/runpod-volume"}, env)
    assert shot.returncode == 0, shot.log
    assert shot.result is not None
    assert shot.result["output"]["directories"][0]["path"] == "/runpod-volume/models"


def test_job_error_exits_one_without_traceback(tmp_path: Path) -> None:
    shot = run_test_input({"action": "list_files", "path": "/etc"}, _env(tmp_path))
    assert shot.returncode == 1
    assert shot.result == {
        "error": "path '/etc' is outside the allowed roots (/runpod-volume). "
        "Hint: list a path under one of the allowed roots"
    }
    assert "Traceback" not in shot.log


def test_user_actions_from_the_command_line(tmp_path: Path) -> None:
    job = {"action": "echo", "text": "ab", "times": 2}
    shot = run_test_input(job, _env(tmp_path), "--actions", "my_actions")
    assert shot.returncode == 0, shot.log
    assert shot.result == {"output": {"echo": "abab", "job_id": "local_test"}}


def test_user_actions_from_the_environment(tmp_path: Path) -> None:
    shot = run_test_input({"action": "nope"}, _env(tmp_path, PODKIT_ACTIONS="my_actions"))
    assert shot.returncode == 1
    assert shot.result is not None
    assert (
        "valid actions: disk_usage, download_models, echo, gpu_info, list_files, sync_models"
        in shot.result["error"]
    )


def test_missing_action_module_is_one_clear_line(tmp_path: Path) -> None:
    shot = run_test_input({}, _env(tmp_path), "--actions", "no_such_module")
    assert shot.returncode == 2
    assert "cannot import action module 'no_such_module'" in shot.log
    assert "Traceback" not in shot.log


def test_no_driver_is_a_clear_job_error(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    shot = run_test_input({"test": "nvidia-smi"}, _env(tmp_path, PATH=str(empty_bin)))
    assert shot.returncode == 1
    assert shot.result is not None
    assert shot.result["error"].startswith(
        "no NVIDIA driver visible in this container (nvidia-smi not found)"
    )
    assert "Traceback" not in shot.log


def test_a_missing_volume_dir_names_the_setting_to_fix_but_not_the_local_path(
    tmp_path: Path,
) -> None:
    # The README's one-liner with a PODKIT_VOLUME_DIR that was never created.
    env = _env(tmp_path, PODKIT_VOLUME_DIR=str(tmp_path / "never-made"))
    shot = run_test_input({"action": "list_files", "path": "/runpod-volume"}, env)
    assert shot.returncode == 1
    assert shot.result is not None
    error = str(shot.result["error"])
    assert "allowed root /runpod-volume does not exist" in error
    assert "PODKIT_VOLUME_DIR" in error and "never-made" not in error


@pytest.mark.parametrize("module", ["broken_actions", "syntax_actions"])
def test_an_action_module_that_fails_to_load_is_one_clear_line(tmp_path: Path, module: str) -> None:
    mine = tmp_path / "mods"
    mine.mkdir()
    (mine / "syntax_actions.py").write_text("def half(:\n", encoding="utf-8")
    env = _env(tmp_path)
    env["PYTHONPATH"] = f"{mine}{os.pathsep}{env['PYTHONPATH']}"
    shot = run_test_input({}, env, "--actions", module)
    assert shot.returncode == 2
    assert f"action module {module!r} failed to load" in shot.log
    assert "Traceback" not in shot.log


def test_an_nvidia_smi_that_cannot_run_is_a_clear_job_error(tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "nvidia-smi").write_bytes(b"\x7fELF\x02not a program")
    (fake / "nvidia-smi").chmod(0o755)
    shot = run_test_input({"action": "gpu_info"}, _env(tmp_path, PATH=f"{fake}:/usr/bin:/bin"))
    assert shot.returncode == 1
    assert shot.result is not None
    assert shot.result["error"].startswith("nvidia-smi could not be started")
    assert "Traceback" not in shot.log


@pytest.mark.parametrize("field", ["timeout_s", "margin_s", "progress_every_s"])
def test_a_sync_number_past_any_clock_is_refused_by_name(tmp_path: Path, field: str) -> None:
    models = [{"source": "https://127.0.0.1:1/m.bin", "destination": "/runpod-volume/m"}]
    job = {"action": "sync_models", "models": models, field: 10**400}
    shot = run_test_input(job, _env(tmp_path))
    assert shot.returncode == 1
    assert shot.result is not None and field in shot.result["error"]
    assert "Traceback" not in shot.log


@pytest.mark.parametrize(
    ("job", "words"),
    [
        ({"action": "gpu_info"}, None),
        (
            {"action": "sync_models", "dry_run": True, "models": [
                {"source": "https://127.0.0.1:1/m.bin", "destination": "/runpod-volume/m"}
            ]},
            "/runpod-volume is not mounted on this worker",
        ),
    ],
)  # fmt: skip
def test_a_volume_dir_with_a_name_too_long_is_not_a_traceback(
    tmp_path: Path, job: dict[str, object], words: str | None
) -> None:
    env = _env(tmp_path, PODKIT_VOLUME_DIR=str(tmp_path / ("v" * 300)))
    env["PATH"] = f"{FIXTURES / 'nvidia_smi'}{os.pathsep}{env.get('PATH', '')}"
    env["FAKE_NVIDIA_SMI_STATE"] = str(tmp_path / "no-state-file")  # the default table
    shot = run_test_input(job, env)
    assert "Traceback" not in shot.log
    assert shot.result is not None
    if words is None:
        assert shot.returncode == 0, shot.log
        assert shot.result["output"]["volume"]["mounted"] is False
    else:
        assert shot.returncode == 1
        assert str(shot.result["error"]).startswith(words)
