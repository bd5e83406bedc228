"""User actions that misbehave, through the real SDK: each is a clear job error or a masked
answer, and no secret of the worker's environment reaches a job's output, error or the log."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.worker.sdk import FIXTURES, LocalApi, run_test_input, worker_env

CANARIES = {
    "AWS_SECRET_ACCESS_KEY": "canary-aws-Zq81xPw0",
    "HF_TOKEN": "canary-hf-Lm42vNc7",
    "RUNPOD_API_KEY": "canary-rp-Tt93kRb5",
}


def _env(tmp_path: Path) -> dict[str, str]:
    volume = tmp_path / "vol"
    volume.mkdir(exist_ok=True)
    path = f"{FIXTURES / 'user_actions'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    extra = {"PODKIT_VOLUME_DIR": str(volume), "PODKIT_ALLOWED_ROOTS": "/runpod-volume"}
    return worker_env(tmp_path, {**extra, "PYTHONPATH": path, **CANARIES})


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalApi]:
    worker = LocalApi(_env(tmp_path_factory.mktemp("actions")), "--actions", "hostile_actions")
    try:
        yield worker
    finally:
        worker.close()


def _no_canary(*texts: str) -> None:
    for text in texts:
        for value in CANARIES.values():
            assert value not in text


def test_a_secret_in_an_exception_is_masked_in_the_job_error(api: LocalApi) -> None:
    body = api.runsync({"action": "leaky_raise"})
    assert body["status"] == "FAILED", body
    assert "cannot reach the store with token ***" in body["error"]
    assert "RuntimeError" in body["error"]
    _no_canary(json.dumps(body), api.log())
    assert "Traceback" in api.log()  # the masked traceback is in the log


def test_an_exception_without_a_secret_keeps_the_sdk_record(api: LocalApi) -> None:
    body = api.runsync({"action": "plain_raise"})
    assert body["status"] == "FAILED", body
    error = json.loads(body["error"])
    assert error["error_message"] == "the model file is truncated"
    assert "hostile_actions.py" in error["error_traceback"]


def test_secrets_printed_by_an_action_are_masked_in_the_log(api: LocalApi) -> None:
    body = api.runsync({"action": "leaky_print"})
    assert body == {"id": body["id"], "status": "COMPLETED", "output": {"ok": True}}
    log = api.log()
    assert "using key ***" in log and "api key ***" in log
    _no_canary(log)


def test_secrets_returned_by_an_action_are_masked_in_the_output(api: LocalApi) -> None:
    body = api.runsync({"action": "leaky_return"})
    assert body["status"] == "COMPLETED", body
    env = body["output"]["env"]
    assert env["HF_TOKEN"] == "***" and env["PODKIT_ALLOWED_ROOTS"] == "/runpod-volume"
    _no_canary(json.dumps(body), api.log())


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("returns_set", "Object of type set is not JSON serializable"),
        ("returns_nan", "Out of range float values are not JSON compliant"),
        ("returns_generator", "Object of type generator is not JSON serializable"),
        ("returns_tuple_keys", "keys must be str"),
    ],
)
def test_a_result_without_a_json_form_is_a_job_error_naming_the_action(
    api: LocalApi, name: str, why: str
) -> None:
    body = api.runsync({"action": name})
    assert body["status"] == "FAILED", body
    assert body["error"].startswith(f"action '{name}' returned a value with no JSON form")
    assert why in body["error"]
    assert "Hint: return dicts with string keys" in body["error"]


def test_a_tuple_result_is_sent_as_a_list(api: LocalApi) -> None:
    assert api.runsync({"action": "returns_tuple"})["output"] == [1, 2, 3]


def test_one_shot_mode_masks_secrets_and_credentials_in_its_log(tmp_path: Path) -> None:
    # The SDK logs the whole job input in --test_input mode, a URL's password included.
    source = "https://someone:pw-Hq77sLx2@127.0.0.1:1/m.bin?token=tk-Vb55nMe1"
    job: dict[str, Any] = {"action": "sync_models", "dry_run": True}
    job["models"] = [{"source": source, "destination": "/runpod-volume/m"}]
    shot = run_test_input(job, _env(tmp_path))
    assert shot.returncode == 1
    assert "Retrieved local job" in shot.log  # the SDK did log the input
    assert "pw-Hq77sLx2" not in shot.log and "tk-Vb55nMe1" not in shot.log
    shot = run_test_input({"action": "leaky_print"}, _env(tmp_path), "--actions", "hostile_actions")
    assert shot.returncode == 0, shot.log
    _no_canary(shot.log)
