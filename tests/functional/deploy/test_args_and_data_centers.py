"""Fields podkit.toml may leave unset are still podkit's: v2 `worker.args` and
`worker.ports`, and v1 data centers. Removing one removes it, a change behind podkit's back
shows in `plan` and `apply` repairs it, and a rollback to a record without one leaves none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.config.catalog import DATACENTERS
from podkit.emulator.server import LocalRunPod
from podkit.runpod import ApiKey, RunPodV1, RunPodV2
from podkit.runpod.types import v1 as t1
from podkit.runpod.types import v2 as t2
from tests.functional.deploy.helpers import cli_project, client, run_staging

KEY = "rpa_FIELDS_canary_0123456789"
ARGS = 'worker.args="python -u handler.py --fast"'


@pytest.fixture
def project(local_runpod: LocalRunPod, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return cli_project(local_runpod.url, tmp_path, monkeypatch, KEY)


@pytest.fixture
def key(project: Path) -> ApiKey:
    return ApiKey(KEY + project.name, "test")


def v2_args(url: str, key: ApiKey) -> str | None:
    with client(url, key) as c:
        assert isinstance(c, RunPodV2)
        [endpoint] = c.endpoints.list()
        return endpoint.args


def test_removing_worker_args_removes_them_from_the_endpoint(
    project: Path, local_runpod: LocalRunPod, key: ApiKey, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_staging(capsys, "apply", "--yes", "--set", ARGS)[0] == 0
    assert v2_args(local_runpod.url, key) == "python -u handler.py --fast"
    code, said = run_staging(capsys, "plan")
    assert code == 2 and "args" in said
    assert run_staging(capsys, "apply", "--yes")[0] == 0
    assert not v2_args(local_runpod.url, key)
    assert run_staging(capsys, "plan")[0] == 0


def test_args_set_behind_podkits_back_are_drift_that_apply_repairs(
    project: Path, local_runpod: LocalRunPod, key: ApiKey, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_staging(capsys, "apply", "--yes")[0] == 0
    with client(local_runpod.url, key) as c:
        assert isinstance(c, RunPodV2)
        [endpoint] = c.endpoints.list()
        c.endpoints.update(endpoint.id, t2.EndpointUpdate(args="sleep infinity"))
    code, said = run_staging(capsys, "plan")
    assert code == 2 and "args" in said and "sleep infinity" in said
    assert run_staging(capsys, "apply", "--yes")[0] == 0
    assert not v2_args(local_runpod.url, key)


def test_rollback_to_a_record_without_args_removes_them(
    project: Path, local_runpod: LocalRunPod, key: ApiKey, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_staging(capsys, "apply", "--yes")[0] == 0
    assert run_staging(capsys, "apply", "--yes", "--set", ARGS)[0] == 0
    assert run_staging(capsys, "rollback", "--yes", "--to", "1")[0] == 0
    assert not v2_args(local_runpod.url, key)


def test_rollback_to_a_record_written_before_args_were_recorded_removes_them(
    project: Path, local_runpod: LocalRunPod, key: ApiKey, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_staging(capsys, "apply", "--yes")[0] == 0
    path = project / ".podkit" / "history" / "gpu-worker-staging.json"
    history = json.loads(path.read_text())
    for resource in history["records"][0]["resources"]:
        resource["fields"].pop("args", None)  # as an older podkit wrote it
    path.write_text(json.dumps(history))
    assert main(["apply", "--env", "staging", "--yes", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["history_record"] is None  # nothing new ran
    assert run_staging(capsys, "apply", "--yes", "--set", ARGS)[0] == 0
    assert run_staging(capsys, "rollback", "--yes", "--to", "1")[0] == 0
    assert not v2_args(local_runpod.url, key)


def v2_ports(url: str, key: ApiKey) -> list[str]:
    with client(url, key) as c:
        assert isinstance(c, RunPodV2)
        [endpoint] = c.endpoints.list()
        return list(endpoint.ports or [])


def test_removing_worker_ports_removes_them_from_the_endpoint(
    project: Path, local_runpod: LocalRunPod, key: ApiKey, capsys: pytest.CaptureFixture[str]
) -> None:
    ports = ("--set", 'worker.ports=["8888/http"]')
    assert run_staging(capsys, "apply", "--yes", *ports)[0] == 0
    assert v2_ports(local_runpod.url, key) == ["8888/http"]
    code, said = run_staging(capsys, "plan")
    assert code == 2 and "ports" in said
    assert run_staging(capsys, "apply", "--yes")[0] == 0
    assert v2_ports(local_runpod.url, key) == []
    assert run_staging(capsys, "plan")[0] == 0
    assert run_staging(capsys, "apply", "--yes", *ports)[0] == 0
    assert run_staging(capsys, "rollback", "--yes", "--to", "2")[0] == 0
    assert v2_ports(local_runpod.url, key) == []


def v1_data_centers(url: str, key: ApiKey) -> list[str]:
    with client(url, key, "v1") as c:
        assert isinstance(c, RunPodV1)
        [endpoint] = c.endpoints.list()
        return sorted(endpoint.data_center_ids)


def test_v1_data_centers_narrowed_behind_podkits_back_are_drift_that_apply_repairs(
    project: Path, local_runpod: LocalRunPod, key: ApiKey, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_staging(capsys, "apply", "--yes", "--api", "v1")[0] == 0
    assert run_staging(capsys, "plan", "--api", "v1")[0] == 0  # every DC reads as none chosen
    with client(local_runpod.url, key, "v1") as c:
        assert isinstance(c, RunPodV1)
        [endpoint] = c.endpoints.list()
        c.endpoints.update(endpoint.id, t1.EndpointUpdate(data_center_ids=["EU-RO-1"]))
    code, said = run_staging(capsys, "plan", "--api", "v1")
    assert code == 2 and "data_centers" in said and "EU-RO-1" in said
    assert run_staging(capsys, "plan", "--api", "v2")[0] == 2  # both generations see it
    assert run_staging(capsys, "apply", "--yes", "--api", "v1")[0] == 0
    assert v1_data_centers(local_runpod.url, key) == sorted(DATACENTERS)
    assert run_staging(capsys, "plan", "--api", "v1")[0] == 0
    assert run_staging(capsys, "plan", "--api", "v2")[0] == 0


def test_v1_removing_the_data_centers_of_podkit_toml_allows_every_one_again(
    project: Path, local_runpod: LocalRunPod, key: ApiKey, capsys: pytest.CaptureFixture[str]
) -> None:
    chosen = ("--set", 'endpoint.datacenters=["EU-RO-1"]')
    assert run_staging(capsys, "apply", "--yes", "--api", "v1", *chosen)[0] == 0
    assert v1_data_centers(local_runpod.url, key) == ["EU-RO-1"]
    assert run_staging(capsys, "plan", "--api", "v1")[0] == 2
    assert run_staging(capsys, "apply", "--yes", "--api", "v1")[0] == 0
    assert v1_data_centers(local_runpod.url, key) == sorted(DATACENTERS)


def v1_template_ports(url: str, key: ApiKey) -> list[str]:
    with client(url, key, "v1") as c:
        assert isinstance(c, RunPodV1)
        [template] = [t for t in c.templates.list() if t.name.startswith("pk-")]
        return list(template.ports)


def test_v1_templates_expose_the_ports_of_podkit_toml_and_no_others(
    project: Path, local_runpod: LocalRunPod, key: ApiKey, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_staging(capsys, "apply", "--yes", "--api", "v1")[0] == 0
    assert v1_template_ports(local_runpod.url, key) == []  # not v1's Jupyter and SSH defaults
    ports = ("--set", 'worker.ports=["8000/http"]')
    assert run_staging(capsys, "apply", "--yes", "--api", "v1", *ports)[0] == 0
    assert v1_template_ports(local_runpod.url, key) == ["8000/http"]
    assert run_staging(capsys, "plan", "--api", "v1", *ports)[0] == 0


def test_a_rollback_to_the_live_record_says_so_not_that_podkit_toml_matches(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_staging(capsys, "apply", "--yes")[0] == 0
    code, said = run_staging(capsys, "rollback", "--yes", "--to", "1")
    assert code == 0 and "no changes: that record is what is live" in said
    assert "podkit.toml" not in said
