"""Templates podkit did not make: one that only carries PODKIT_OWNER is not podkit's (the name
prefix is part of the mark), and one that only takes the deploy lock's name is named as the
reason no deploy can start. Also `--worker-quota 0` means zero."""

from __future__ import annotations

from pathlib import Path

import pytest

from podkit.emulator.server import LocalRunPod
from podkit.runpod import ApiKey, RunPodV1, RunPodV2
from podkit.runpod.types import v1 as t1
from podkit.runpod.types import v2 as t2
from tests.functional.deploy.helpers import cli_project, client, run_staging

KEY = "rpa_FOREIGN_canary_0123456789"
OWNER = {"PODKIT_OWNER": "gpu-worker/staging"}


@pytest.fixture
def project(local_runpod: LocalRunPod, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return cli_project(local_runpod.url, tmp_path, monkeypatch, KEY)


@pytest.fixture
def key(project: Path) -> ApiKey:
    return ApiKey(KEY + project.name, "test")


def template_names(url: str, key: ApiKey) -> list[str]:
    with client(url, key) as c:
        return sorted(t.name for t in c.templates.list())


def test_destroy_keeps_a_template_that_only_carries_the_owner_env(
    project: Path, local_runpod: LocalRunPod, key: ApiKey, capsys: pytest.CaptureFixture[str]
) -> None:
    with client(local_runpod.url, key) as c:
        assert isinstance(c, RunPodV2)
        c.templates.create(t2.TemplateCreate(name="user-tpl", image="me/mine:1", env=OWNER))
    assert run_staging(capsys, "apply", "--yes")[0] == 0
    code, said = run_staging(capsys, "destroy", "--yes")
    assert code == 0 and "user-tpl" not in said
    assert template_names(local_runpod.url, key) == ["user-tpl"]


def test_a_v1_apply_keeps_a_template_that_only_carries_the_owner_env(
    project: Path, local_runpod: LocalRunPod, key: ApiKey, capsys: pytest.CaptureFixture[str]
) -> None:
    with client(local_runpod.url, key, "v1") as c:
        assert isinstance(c, RunPodV1)
        body = t1.TemplateCreate(name="user-tpl", image_name="me/mine:1", env=OWNER)
        c.templates.create(body)
    code, said = run_staging(capsys, "plan", "--api", "v1")
    assert code == 2 and "user-tpl" not in said
    assert run_staging(capsys, "apply", "--yes", "--api", "v1")[0] == 0
    assert run_staging(capsys, "destroy", "--yes", "--api", "v1")[0] == 0
    assert template_names(local_runpod.url, key) == ["user-tpl"]


def test_a_template_squatting_the_lock_name_is_named_with_what_to_do(
    project: Path, local_runpod: LocalRunPod, key: ApiKey, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "pk-gpu-worker-staging-deploy-lock"
    with client(local_runpod.url, key) as c:
        assert isinstance(c, RunPodV2)
        squatter = c.templates.create(t2.TemplateCreate(name=name, image="me/mine:1")).id
    code, said = run_staging(capsys, "apply", "--yes")
    assert code == 1
    assert f"template {name} ({squatter}) is not a podkit deploy lock" in said
    assert f"rename or delete template {squatter} in the RunPod console" in said
    code, said = run_staging(capsys, "unlock")
    assert code == 1 and f"template {name} ({squatter}) is not a podkit deploy lock" in said
    assert template_names(local_runpod.url, key) == [name]  # never deleted by podkit


def test_a_worker_quota_of_zero_is_zero(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, said = run_staging(capsys, "plan", "--worker-quota", "0")
    assert code == 1
    assert "worker quota: other endpoints hold 0 of 0 workers" in said
