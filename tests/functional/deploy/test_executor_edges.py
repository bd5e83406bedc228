"""The executor's bookkeeping and refusals against the local RunPod: ids it remembers and
forgets, what it reports, deletes of objects already gone, and writes it must not attempt."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from podkit.deploy import service
from podkit.deploy.executor import ApplyResult, Executor
from podkit.deploy.model import Resource, Scope, Snapshot
from podkit.deploy.plan import Create, Delete, Plan, Update
from podkit.errors import DeployError
from podkit.runpod.types import v1 as t1
from tests.functional.deploy.helpers import client, inventory, load, new_key, write_config

SCOPE = Scope("p", "e")


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_apply_reports_each_change_and_remembers_the_new_ids(
    local_runpod, tmp_path: Path, api: str
) -> None:
    key = new_key()
    deployment = load(write_config(tmp_path))
    seen: list[str] = []
    with client(local_runpod.url, key, api) as c:
        prepared = service.prepare(c, deployment)
        result = Executor(c, progress=seen.append).apply(prepared.plan, prepared.snapshot)
        again = service.prepare(c, deployment).plan
    kinds = ["volume", "endpoint"] if api == "v2" else ["volume", "template", "endpoint"]
    assert result.applied == len(kinds) and again.changes == ()
    assert seen == [f"create {c.resource.kind} {c.resource.name}" for c in prepared.plan.changes]
    assert result.ids == {(kind, name): rid for kind, name, rid in again.bindings}
    assert {kind for kind, _ in result.ids} == set(kinds)
    assert result.id_of("registry") is None


def test_a_delete_of_an_object_already_gone_converges(local_runpod) -> None:
    key = new_key()
    gone = Resource("endpoint", "gone", {}, id="no-such-endpoint", owner="p/e")
    plan = Plan(scope=SCOPE, api="v2", changes=(Delete(gone),))
    with client(local_runpod.url, key, "v2") as c:
        result = Executor(c).apply(plan, Snapshot())
    assert result.applied == 1 and result.ids == {}


def test_deleting_a_duplicate_keeps_the_bound_id_and_deleting_the_bound_one_forgets_it(
    local_runpod, tmp_path: Path
) -> None:
    key = new_key()
    deployment = load(write_config(tmp_path))
    with client(local_runpod.url, key, "v2") as c:
        prepared = service.prepare(c, deployment)
        first = Executor(c).apply(prepared.plan, prepared.snapshot)
        endpoint_id = first.id_of("endpoint") or ""
        name = next(c.resource.name for c in prepared.plan.changes if c.resource.kind == "endpoint")
        bound = (("endpoint", name, endpoint_id),)
        twin = Resource("endpoint", name, {}, id="ep-duplicate", owner="x")
        keep = Plan(scope=SCOPE, api="v2", changes=(Delete(twin),), bindings=bound)
        assert Executor(c).apply(keep, Snapshot()).ids == {("endpoint", name): endpoint_id}
        original = replace(twin, id=endpoint_id)
        drop = Plan(scope=SCOPE, api="v2", changes=(Delete(original),), bindings=bound)
        assert Executor(c).apply(drop, Snapshot()).ids == {}
    assert inventory(local_runpod.url, key, "v2")["endpoint"] == []


def test_registries_in_the_snapshot_are_known_ids(local_runpod) -> None:
    plan = Plan(scope=SCOPE, api="v2", changes=())
    with client(local_runpod.url, new_key(), "v2") as c:
        result = Executor(c).apply(plan, Snapshot(registries=(("ghcr", "reg-1"),)))
    assert result.ids == {("registry", "ghcr"): "reg-1"} and result.applied == 0


def test_a_template_is_never_created_on_v2_nor_edited_anywhere(local_runpod) -> None:
    template = Resource("template", "pk-p-e-tpl-abc", {"image": "x"})
    with client(local_runpod.url, new_key(), "v2") as c:
        executor = Executor(c)
        create = Plan(scope=SCOPE, api="v2", changes=(Create(template),))
        with pytest.raises(DeployError, match="REST v2 deploys do not use templates"):
            executor.apply(create, Snapshot())
        edit = Update(template, "tpl-1", ())
        with pytest.raises(DeployError) as err:
            executor.apply(Plan(scope=SCOPE, api="v2", changes=(edit,)), Snapshot())
        assert err.value.message == (
            "template pk-p-e-tpl-abc (tpl-1) differs from podkit.toml, but templates are "
            "content-addressed and never edited"
        )
        assert err.value.hint == "delete that template in the RunPod console and run apply again"
        assert c.stats.writes == 0


def test_apply_result_id_of_picks_the_first_by_name() -> None:
    result = ApplyResult(ids={("endpoint", "b"): "2", ("endpoint", "a"): "1", ("volume", "v"): "9"})
    assert result.id_of("endpoint") == "1"
    assert result.id_of("volume") == "9"
    assert result.id_of("template") is None


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_an_endpoint_with_workers_is_scaled_to_zero_then_deleted(
    local_runpod, tmp_path: Path, api: str
) -> None:
    local_runpod.backend.quirks.require_zero_workers_before_delete = True
    key = new_key()
    deployment = load(write_config(tmp_path), endpoint__workers_min="1")
    seen: list[str] = []
    with client(local_runpod.url, key, api) as c:
        prepared = service.prepare(c, deployment)
        endpoint_id = Executor(c).apply(prepared.plan, prepared.snapshot).id_of("endpoint") or ""
        plan, snapshot = service.prepare_destroy(c, service.scope_for(deployment), volumes=False)
        Executor(c, progress=seen.append).apply(plan, snapshot)
        calls = {k.split()[0]: n for k, n in c.stats.by_route.items() if k.endswith(endpoint_id)}
        calls.pop("GET", None)  # the read-back after create
        assert calls == {"DELETE": 2, "PATCH": 1}  # refused with workers, scaled, deleted
    assert f"scale endpoint {endpoint_id} to 0 workers before deleting it" in seen
    assert inventory(local_runpod.url, key, api)["endpoint"] == []


@pytest.mark.parametrize("api", ["v2", "v1"])
def test_a_bigger_volume_is_updated_in_place_and_read_back(
    local_runpod, tmp_path: Path, api: str
) -> None:
    key = new_key()
    config = write_config(tmp_path)
    with client(local_runpod.url, key, api) as c:
        prepared = service.prepare(c, load(config))
        volume_id = Executor(c).apply(prepared.plan, prepared.snapshot).id_of("volume")
        grown = service.prepare(c, load(config, volume__size_gb="30"))
        (change,) = grown.plan.changes
        assert isinstance(change, Update) and change.remote_id == volume_id
        result = Executor(c).apply(grown.plan, grown.snapshot)
        assert result.applied == 1 and result.id_of("volume") == volume_id
        assert c.network_volumes.get(volume_id or "").size == 30
        assert service.prepare(c, load(config, volume__size_gb="30")).plan.changes == ()


@pytest.mark.parametrize("ignored", [False, True])
def test_v1_flashboot_off_is_checked_through_v2_and_fixed_only_when_it_did_not_stick(
    local_runpod, tmp_path: Path, ignored: bool
) -> None:
    local_runpod.backend.quirks.v1_ignore_flashboot_false_on_create = ignored
    key = new_key()
    deployment = load(write_config(tmp_path), endpoint__flashboot="false")
    seen: list[str] = []
    with client(local_runpod.url, key, "v1") as c:
        prepared = service.prepare(c, deployment)
        result = Executor(c, progress=seen.append).apply(prepared.plan, prepared.snapshot)
        endpoint_id = result.id_of("endpoint") or ""
        patches = c.stats.by_route.get(f"PATCH /v1/endpoints/{endpoint_id}", 0)
        assert c.endpoints_v2.get(endpoint_id).flashboot == "OFF"
    fixed = f"flashboot is True on endpoint {endpoint_id}; setting it to False"
    assert patches == (1 if ignored else 0)
    assert (fixed in seen) is ignored


class FlashbootStaysOn(httpx.HTTPTransport):
    """Real HTTP to the local RunPod, except that every endpoint read says FlashBoot is on,
    as an account whose setting never changes would."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method != "GET" or response.status_code != 200:
            return response
        body = json.loads(response.read())
        if isinstance(body, dict) and "flashboot" in body:
            body["flashboot"] = "FLASHBOOT"
        return httpx.Response(200, json=body, headers={"content-type": "application/json"})


def test_v1_flashboot_that_never_turns_off_fails_the_apply_naming_it(
    local_runpod, tmp_path: Path
) -> None:
    key = new_key()
    deployment = load(write_config(tmp_path), endpoint__flashboot="false")
    with client(local_runpod.url, key, "v1", transport=FlashbootStaysOn()) as c:
        prepared = service.prepare(c, deployment)
        with pytest.raises(DeployError) as err:
            Executor(c).apply(prepared.plan, prepared.snapshot)
    assert "the server did not keep flashboot (sent False, server has True)" in err.value.message


class WorkersClamped(httpx.HTTPTransport):
    """Real HTTP to the local RunPod, except that v1 endpoint reads report other worker
    limits (1 to 3), as an account that clamps them would."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method != "GET" or not request.url.path.startswith("/v1/endpoints/"):
            return response
        body = json.loads(response.read()) | {"workersMin": 1, "workersMax": 3}
        return httpx.Response(200, json=body, headers={"content-type": "application/json"})


def test_v1_fields_the_server_dropped_fail_the_apply_even_with_write_only_flashboot(
    local_runpod, tmp_path: Path
) -> None:
    deployment = load(write_config(tmp_path))
    with client(local_runpod.url, new_key(), "v1", transport=WorkersClamped()) as c:
        prepared = service.prepare(c, deployment)
        with pytest.raises(DeployError) as err:
            Executor(c).apply(prepared.plan, prepared.snapshot)
    assert err.value.message.endswith(
        ": the server did not keep workers.max (sent 1, server has 3); "
        "workers.min (sent 0, server has 1)"
    )
    assert err.value.hint == (
        "the API accepted the write but dropped these fields; set them in the RunPod console "
        "or change podkit.toml to what the platform allows"
    )


def test_a_v1_template_with_registry_credentials_is_written_and_read_back_by_name(
    local_runpod, tmp_path: Path
) -> None:
    deployment = load(write_config(tmp_path), worker__registry_auth="ghcr-acme")
    with client(local_runpod.url, new_key(), "v1") as c:
        credential = c.registry_auth.create(
            t1.RegistryAuthCreate(name="ghcr-acme", username="bot", password="registry-pass")
        )
        prepared = service.prepare(c, deployment)
        result = Executor(c).apply(prepared.plan, prepared.snapshot)
        template = c.templates.get(result.id_of("template") or "")
        assert template.container_registry_auth_id == credential.id
        assert result.ids[("registry", "ghcr-acme")] == credential.id
        assert service.prepare(c, deployment).plan.changes == ()
