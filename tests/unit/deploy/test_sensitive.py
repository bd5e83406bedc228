"""Inline secrets of worker.env: masked in plans, fingerprinted in history, restored on
rollback only from the current config; a secret's value where its name belongs is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from podkit.config import load_config
from podkit.deploy import planner
from podkit.deploy.desired import build_desired
from podkit.deploy.history import History
from podkit.deploy.model import DesiredState, Resource, Snapshot
from podkit.deploy.render import plan_markdown, plan_table, plan_to_json
from podkit.deploy.sensitive import KEY_ENV, Fingerprinter, is_fingerprint, restore
from podkit.errors import ConfigError, DeployError
from podkit.runpod.types.v2 import GpuType
from tests.unit.deploy.conftest import deployment

SECRET = "hunter2-Canary-51c0"
ENV = {"LOG_LEVEL": "info", "DB_PASSWORD": SECRET}


def _fp(api_key: str = "key-one", **environ: str) -> Fingerprinter:
    return Fingerprinter.for_project(api_key, "gpu-worker", environ)


def _desired(catalog: list[GpuType], env: dict[str, str], api: str = "v2") -> DesiredState:
    worker = {"env": env, "secrets": {"HF_TOKEN": "hf_token"}}
    return build_desired(deployment(worker=worker), api=api, catalog=catalog, fingerprint=_fp())


def _remote(desired: DesiredState, env_value: str) -> Snapshot:
    ep = desired.get("endpoint")
    assert ep is not None
    fields = dict(ep.fields) | {"env.DB_PASSWORD": env_value}
    owner = desired.scope.owner
    return Snapshot((Resource("endpoint", ep.name, fields, id="ep1", owner=owner),))


def _outputs(plan: planner.Plan) -> list[str]:
    console = Console(record=True, width=200)
    console.print(plan_table(plan))
    return [console.export_text(), plan_to_json(plan), plan_markdown(plan)]


def test_keyed_fingerprints() -> None:
    fp = _fp()
    assert fp(SECRET) == fp(SECRET) and is_fingerprint(fp(SECRET)) and SECRET not in fp(SECRET)
    assert fp(SECRET) != _fp("key-two")(SECRET)  # another API key, another fingerprint
    shared = _fp("key-one", **{KEY_ENV: "team-key"})
    assert shared(SECRET) == _fp("key-two", **{KEY_ENV: "team-key"})(SECRET)
    assert "key-one" not in repr(fp) and fp.key_id in fp(SECRET)


def test_plan_shows_a_changed_inline_secret_as_sensitive(catalog: list[GpuType]) -> None:
    desired = _desired(catalog, ENV)
    changed = planner.plan(desired, _remote(desired, "old-" + SECRET))
    for text in _outputs(changed):
        assert SECRET not in text and "DB_PASSWORD" in text and "(sensitive)" in text
    fields = [f for c in changed.changes for f in c.changes if f.field == "env.DB_PASSWORD"]
    assert len(fields) == 1 and fields[0].shown() == ("(sensitive)", "(sensitive, changed)")
    same = planner.plan(desired, _remote(desired, SECRET))
    assert [c.resource.kind for c in same.changes] == ["volume"]  # the endpoint is unchanged


def test_a_secret_only_the_remote_holds_is_masked_too(catalog: list[GpuType]) -> None:
    desired = _desired(catalog, {"LOG_LEVEL": "info"})
    removal = planner.plan(desired, _remote(desired, SECRET))
    for text in _outputs(removal):
        assert SECRET not in text and "(sensitive)" in text


def test_v1_template_names_do_not_hash_the_plain_value(catalog: list[GpuType]) -> None:
    one = _desired(catalog, ENV, api="v1").get("template")
    again = _desired(catalog, ENV, api="v1").get("template")
    other = build_desired(
        deployment(worker={"env": ENV}), api="v1", catalog=catalog, fingerprint=_fp("key-two")
    ).get("template")
    assert one is not None and again is not None and other is not None
    assert one.name == again.name != other.name


def test_history_keeps_the_fingerprint_and_rollback_restores_the_value(
    tmp_path: Path, catalog: list[GpuType]
) -> None:
    desired = _desired(catalog, ENV)
    history = History(desired.scope, tmp_path)
    history.append(desired, source="apply", endpoint_id="ep1", fingerprint=_fp())
    stored = history.path.read_text()
    assert SECRET not in stored and _fp()(SECRET) in stored
    record = history.target(1)
    restored = restore(record.desired, ENV, _fp(), record.number)
    ep = restored.get("endpoint")
    assert ep is not None and ep.fields["env.DB_PASSWORD"] == SECRET
    assert "env.DB_PASSWORD" in ep.secret_fields


@pytest.mark.parametrize(
    ("env", "fp", "reason"),
    [
        ({"DB_PASSWORD": "another-value-123"}, _fp(), "no longer holds that value"),
        ({}, _fp(), "no longer sets it"),
        (ENV, _fp("key-two"), "made with another key"),
    ],
)
def test_rollback_stops_when_the_value_cannot_be_restored(
    tmp_path: Path, catalog: list[GpuType], env: dict[str, str], fp: Fingerprinter, reason: str
) -> None:
    desired = _desired(catalog, ENV)
    history = History(desired.scope, tmp_path)
    history.append(desired, source="apply", endpoint_id="ep1", fingerprint=_fp())
    with pytest.raises(DeployError) as caught:
        restore(history.target(1).desired, env, fp, 1)
    text = str(caught.value)
    assert reason in text and "worker.env.DB_PASSWORD" in text and "worker.secrets" in text
    assert SECRET not in text


def test_older_history_values_become_fingerprints_on_the_next_write(
    tmp_path: Path, catalog: list[GpuType]
) -> None:
    desired = _desired(catalog, ENV)
    history = History(desired.scope, tmp_path)
    history.append(desired, source="apply", endpoint_id="ep1", fingerprint=_fp())
    data = json.loads(history.path.read_text())
    endpoint = next(r for r in data["records"][0]["resources"] if r["kind"] == "endpoint")
    endpoint["fields"]["env.DB_PASSWORD"] = SECRET  # as an older podkit wrote it
    history.path.write_text(json.dumps(data))
    history.append(desired, source="apply", endpoint_id="ep1", fingerprint=_fp())
    assert SECRET not in history.path.read_text()


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('secrets = { HF_TOKEN = "%s" }', "secrets.HF_TOKEN"),
        ('registry_auth = "%s"', "registry_auth"),
    ],
)
def test_a_secret_value_where_its_name_belongs_is_refused(
    tmp_path: Path, line: str, key: str
) -> None:
    value = "hf_" + "Zq9" * 10
    config = tmp_path / "podkit.toml"
    config.write_text(
        'project = "p"\n[image]\nref = "ghcr.io/a/b:1"\n[endpoint]\ngpu_pools = ["ADA_24"]\n'
        f"[worker]\n{line % value}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    text = str(caught.value)
    assert key in text and "looks like a secret itself" in text and value not in text
