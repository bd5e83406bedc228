"""Two copies of one owned object: `plan` names both, `apply` never adopts one silently."""

from __future__ import annotations

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
