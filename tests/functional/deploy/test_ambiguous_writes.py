"""Writes whose answer is lost: read back by name and owner, then adopted or written again."""

from __future__ import annotations

from pathlib import Path

import pytest

from podkit.deploy import service
from podkit.deploy.executor import Executor
from podkit.deploy.history import History
from podkit.emulator.server import LocalRunPod
from podkit.errors import DeployError
from tests.functional.deploy.helpers import IMAGE_B, client, inventory, load, new_key, write_config

CREATES = {
    "v2": ["POST /v2/network-volumes", "POST /v2/serverless"],
    "v1": ["POST /v1/networkvolumes", "POST /v1/templates", "POST /v1/endpoints"],
}


def no_sleep(seconds: float) -> None:
    return None


@pytest.mark.parametrize("api", ["v2", "v1"])
@pytest.mark.parametrize("fault", ["rate_commit_drop", "rate_commit_5xx"])
def test_a_committed_create_whose_answer_is_lost_is_adopted_not_duplicated(
    local_runpod: LocalRunPod, tmp_path: Path, api: str, fault: str
) -> None:
    for route in CREATES[api]:
        local_runpod.backend.faults.add(route, **{fault: 1.0})
    key, deployment = new_key(), load(write_config(tmp_path))
    said: list[str] = []
    with client(local_runpod.url, key, api, sleep=no_sleep) as c:
        prepared = service.prepare(c, deployment)
        Executor(c, progress=said.append).apply(prepared.plan, prepared.snapshot)
    adopted = [s for s in said if "the create's answer was lost; adopted" in s]
    assert len(adopted) == len(CREATES[api])
    found = inventory(local_runpod.url, key, api)
    assert len(found["volume"]) == len(found["endpoint"]) == 1, found
    local_runpod.backend.faults.clear()
    with client(local_runpod.url, key, api) as c:
        assert service.prepare(c, deployment).plan.summary == "no changes"


def test_a_create_that_did_not_happen_is_sent_again(
    local_runpod: LocalRunPod, tmp_path: Path
) -> None:
    local_runpod.backend.faults.clear(seed=3)
    local_runpod.backend.faults.add("POST /v2/serverless", rate_5xx=0.6)  # before the write
    key, deployment = new_key(), load(write_config(tmp_path))
    said: list[str] = []
    with client(local_runpod.url, key, sleep=no_sleep) as c:
        prepared = service.prepare(c, deployment)
        Executor(c, progress=said.append).apply(prepared.plan, prepared.snapshot)
    assert any("the create did not happen; creating it again" in s for s in said)
    assert len(inventory(local_runpod.url, key, "v2")["endpoint"]) == 1


def test_a_create_that_keeps_failing_stops_with_one_clear_line(
    local_runpod: LocalRunPod, tmp_path: Path
) -> None:
    local_runpod.backend.faults.add("POST /v2/serverless", rate_5xx=1.0)
    key, deployment = new_key(), load(write_config(tmp_path))
    with client(local_runpod.url, key, sleep=no_sleep) as c:
        prepared = service.prepare(c, deployment)
        with pytest.raises(DeployError) as caught:
            service.apply_prepared(c, prepared, History(prepared.desired.scope, tmp_path))
    message = caught.value.message
    assert message.startswith("create of endpoint gpu-worker-staging failed 4 times")
    assert "\n" not in message and "after retries" not in (caught.value.hint or "")
    assert inventory(local_runpod.url, key, "v2")["endpoint"] == []


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_updates_and_deletes_whose_answer_is_lost_are_verified(
    local_runpod: LocalRunPod, tmp_path: Path, api: str
) -> None:
    key, deployment = new_key(), load(write_config(tmp_path))
    with client(local_runpod.url, key, api) as c:
        prepared = service.prepare(c, deployment)
        Executor(c).apply(prepared.plan, prepared.snapshot)
    local_runpod.backend.faults.add("PATCH *", rate_commit_5xx=1.0)
    local_runpod.backend.faults.add("DELETE *", rate_commit_drop=1.0)
    said: list[str] = []
    for changed in (
        load(write_config(tmp_path, image=IMAGE_B), endpoint__workers_max=2),  # updates
        load(tmp_path / "podkit.toml", endpoint__name="renamed"),  # a delete and a create
    ):
        with client(local_runpod.url, key, api, sleep=no_sleep) as c:
            prepared = service.prepare(c, changed)
            assert prepared.plan.count("update") + prepared.plan.count("delete")
            Executor(c, progress=said.append).apply(prepared.plan, prepared.snapshot)
    local_runpod.backend.faults.clear()
    with client(local_runpod.url, key, api) as c:
        assert service.prepare(c, changed).plan.summary == "no changes"
    found = inventory(local_runpod.url, key, api)
    assert found["endpoint"] == ["renamed"], found
    assert any(s.endswith(": update applied") for s in said), said  # read back, not re-sent
