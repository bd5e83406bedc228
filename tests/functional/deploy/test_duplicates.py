"""Two copies of one owned object: `plan` names both, `apply` never adopts one silently."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from podkit.cli.main import main
from podkit.emulator.server import LocalRunPod
from podkit.runpod import ApiKey
from podkit.runpod.types import v2 as t2
from tests.functional.deploy.helpers import client, inventory, new_key, write_config


@pytest.fixture
def project(local_runpod: LocalRunPod, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ApiKey:
    key = new_key()
    monkeypatch.setenv("PODKIT_TARGET", local_runpod.url)
    monkeypatch.setenv("RUNPOD_API_KEY", key.reveal())
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path)
    return key


def test_a_duplicate_volume_fails_the_plan_until_one_is_kept(
    local_runpod: LocalRunPod, project: ApiKey, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "--env", "staging", "--yes"]) == 0
    with client(local_runpod.url, project) as c:
        (first,) = c.network_volumes.list()
        body = t2.NetworkVolumeCreate(name=first.name, size=first.size, data_center="EU-RO-1")
        second = c.network_volumes.create(body)
    capsys.readouterr()
    assert main(["plan", "--env", "staging", "--no-models"]) == 1
    err = " ".join(capsys.readouterr().err.split())  # as one line, whatever the width
    assert f"volume {first.name} (" in err and first.id in err and second.id in err
    assert "podkit apply --keep ID" in err
    assert main(["apply", "--env", "staging", "--yes"]) == 1  # never adopts one silently
    assert main(["apply", "--env", "staging", "--yes", "--keep", first.id]) == 1
    assert "--force" in capsys.readouterr().err  # deleting the other copy loses its data
    keep = ["--keep", first.id, "--force"]
    assert main(["apply", "--env", "staging", "--yes", *keep]) == 0
    assert main(["plan", "--env", "staging", "--no-models"]) == 0
    assert inventory(local_runpod.url, project, "v2")["volume"] == [first.name]
    assert main(["apply", "--env", "staging", "--yes", *keep]) == 0  # the same command again
    assert inventory(local_runpod.url, project, "v2")["volume"] == [first.name]


def test_a_keep_that_names_no_duplicate_is_refused_by_plan_and_apply(
    local_runpod: LocalRunPod, project: ApiKey, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "--env", "staging", "--yes"]) == 0
    capsys.readouterr()
    for command in (["plan", "--no-models"], ["apply", "--yes"]):
        assert main([*command, "--env", "staging", "--keep", "../x"]) == 1
        err = " ".join(capsys.readouterr().err.split())
        assert "--keep '../x' names no duplicated object" in err and "(there are none)" in err
    with client(local_runpod.url, project) as c:
        (first,) = c.network_volumes.list()
        body = t2.NetworkVolumeCreate(name=first.name, size=first.size, data_center="EU-RO-1")
        second = c.network_volumes.create(body)
    assert main(["apply", "--env", "staging", "--yes", "--force", "--keep", first.id,
                 "--keep", "../x"]) == 1  # fmt: skip
    err = " ".join(capsys.readouterr().err.split())
    listed = ", ".join(sorted([first.id or "", second.id or ""]))
    assert "--keep '../x' names no duplicated object" in err
    assert f"(the duplicated ids are {listed})" in err
    assert len(inventory(local_runpod.url, project, "v2")["volume"]) == 2  # nothing deleted


def test_a_duplicate_endpoint_is_reported_by_id(
    local_runpod: LocalRunPod, project: ApiKey, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", "--env", "staging", "--yes"]) == 0
    with client(local_runpod.url, project) as c:
        (ep,) = c.endpoints.list()
        twin = c.endpoints.create(
            t2.EndpointCreate(
                name=ep.name,
                type=ep.type,
                scaling=t2.QueueDelayScaling(queue_delay=4),
                image=ep.image,
                env=ep.env,
                gpu=t2.EndpointGpuCreate(pools=["ADA_24"]),
                workers=t2.EndpointWorkers(min=0, max=0),
            )
        )
    capsys.readouterr()
    assert main(["apply", "--env", "staging", "--yes"]) == 1
    err = " ".join(capsys.readouterr().err.split())  # as one line, whatever the width
    assert f"endpoint {ep.name} (" in err and ep.id in err and twin.id in err
    keep = ["--keep", ep.id, "--force"]
    assert main(["apply", "--env", "staging", "--yes", *keep]) == 0
    assert main(["plan", "--env", "staging", "--no-models"]) == 0


def _attached_volumes(url: str, key: ApiKey) -> list[str]:
    with client(url, key) as c:
        (ep,) = c.endpoints.list()
        return list(ep.network_volumes)


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_keeping_the_copy_the_endpoint_does_not_use_moves_the_endpoint_first(
    local_runpod: LocalRunPod, project: ApiKey, capsys: pytest.CaptureFixture[str], api: str
) -> None:
    """`--keep` names the volume copy the endpoint is not attached to: the plan re-attaches
    the endpoint to the kept copy, then deletes the other one (never a volume in use)."""
    assert main(["apply", "--env", "staging", "--yes", "--api", api]) == 0
    with client(local_runpod.url, project) as c:
        (used,) = c.network_volumes.list()
        body = t2.NetworkVolumeCreate(name=used.name, size=used.size, data_center="EU-RO-1")
        spare = c.network_volumes.create(body)
    assert _attached_volumes(local_runpod.url, project) == [used.id]
    capsys.readouterr()
    plan = ["plan", "--env", "staging", "--no-models", "--json", "--api", api]
    assert main([*plan, "--keep", spare.id]) == 2
    shown = json.loads(capsys.readouterr().out)
    assert [(c["action"], c["kind"], c["fields"]) for c in shown["changes"]] == [
        ("update", "endpoint", [{"field": "volume.id", "old": used.id, "new": spare.id,
                                 "secret": False}]),
        ("delete", "volume", []),
    ]  # fmt: skip
    assert shown["changes"][1]["id"] == used.id
    assert any(f"to the kept copy {spare.id} before {used.id}" in n for n in shown["notes"])
    keep = ["--keep", spare.id, "--force", "--api", api]
    assert main(["apply", "--env", "staging", "--yes", *keep]) == 0
    assert _attached_volumes(local_runpod.url, project) == [spare.id]
    with client(local_runpod.url, project) as c:
        assert [v.id for v in c.network_volumes.list()] == [spare.id]
    assert main(plan) == 0


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_keeping_the_copy_the_endpoint_uses_changes_nothing_else(
    local_runpod: LocalRunPod, project: ApiKey, capsys: pytest.CaptureFixture[str], api: str
) -> None:
    assert main(["apply", "--env", "staging", "--yes", "--api", api]) == 0
    with client(local_runpod.url, project) as c:
        (used,) = c.network_volumes.list()
        body = t2.NetworkVolumeCreate(name=used.name, size=used.size, data_center="EU-RO-1")
        spare = c.network_volumes.create(body)
    capsys.readouterr()
    plan = ["plan", "--env", "staging", "--no-models", "--json", "--api", api]
    assert main([*plan, "--keep", used.id]) == 2
    shown = json.loads(capsys.readouterr().out)
    assert [(c["action"], c["id"]) for c in shown["changes"]] == [("delete", spare.id)]
    assert not any("moves" in note for note in shown["notes"])
    keep = ["--keep", used.id, "--force", "--api", api]
    assert main(["apply", "--env", "staging", "--yes", *keep]) == 0
    assert _attached_volumes(local_runpod.url, project) == [used.id]
    with client(local_runpod.url, project) as c:
        assert [v.id for v in c.network_volumes.list()] == [used.id]


def test_a_v1_endpoint_moves_to_the_kept_template_copy_before_the_other_goes(
    local_runpod: LocalRunPod, project: ApiKey, capsys: pytest.CaptureFixture[str]
) -> None:
    """Template names are unique per account, so the API refuses a second copy; the copy is
    put into the account's state directly, as an account that holds one would read."""
    assert main(["apply", "--env", "staging", "--yes", "--api", "v1"]) == 0
    account = local_runpod.backend.account(project.reveal())
    (used,) = account.templates.values()
    account.templates["tplcopy001"] = copy.deepcopy(used) | {"id": "tplcopy001"}
    capsys.readouterr()
    plan = ["plan", "--env", "staging", "--no-models", "--json", "--api", "v1"]
    assert main([*plan, "--keep", "tplcopy001"]) == 2
    shown = json.loads(capsys.readouterr().out)
    assert [(c["action"], c["kind"], c["fields"]) for c in shown["changes"]] == [
        ("update", "endpoint", [{"field": "template.id", "old": used["id"], "new": "tplcopy001",
                                 "secret": False}]),
        ("delete", "template", []),
    ]  # fmt: skip
    keep = ["--keep", "tplcopy001", "--force", "--api", "v1"]
    assert main(["apply", "--env", "staging", "--yes", *keep]) == 0
    with client(local_runpod.url, project, "v1") as c:
        (ep,) = c.endpoints.list()
        assert ep.template_id == "tplcopy001"
        assert [t.id for t in c.templates.list()] == ["tplcopy001"]
    assert main(plan) == 0
