"""The job commands find the project's endpoint without --endpoint: from the deploy history,
else from the account. An id from either goes into URL paths, so both are checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from tests.functional.deploy.helpers import write_config

KEY = "rpa_LOOKUP_canary_0123456789"


@pytest.fixture
def project(local_runpod: LocalRunPod, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PODKIT_TARGET", local_runpod.url)
    monkeypatch.setenv("RUNPOD_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path)
    return tmp_path


def test_an_endpoint_id_from_the_account_that_is_not_an_id_is_refused(
    project: Path, local_runpod: LocalRunPod, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "--env", "staging", "--yes"]) == 0
    for history in (project / ".podkit" / "history").glob("*.json"):
        history.unlink()  # found through the account's API from here on
    account = local_runpod.backend.account(KEY)
    [record] = account.endpoints.values()
    account.endpoints = {"../../x": record | {"id": "../../x"}}
    capsys.readouterr()
    assert local_runpod.recorder is not None
    before = len(local_runpod.recorder.responses)

    code = main(["run", "gpu_info", "--env", "staging", "--json"])

    captured = capsys.readouterr()
    assert code == 1 and "Traceback" not in captured.err
    error = json.loads(captured.out)["error"]
    assert "'../../x'" in error["message"] and "ids are letters, digits" in error["message"]
    sent = [r.path for r in local_runpod.recorder.responses[before:]]
    assert sent and not [path for path in sent if path.endswith(("/run", "/runsync"))]
