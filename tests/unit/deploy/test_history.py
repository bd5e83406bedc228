"""Deploy history: records, rollback targets, a damaged file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from podkit.deploy.desired import build_desired
from podkit.deploy.history import History
from podkit.errors import DeployError
from podkit.runpod.types.v2 import GpuType
from tests.unit.deploy.conftest import deployment

IMAGES = [f"ghcr.io/a/w@sha256:{c * 64}" for c in "abc"]


def test_records_round_trip_and_rollback_targets(tmp_path: Path, catalog: list[GpuType]) -> None:
    history = History(build_desired(deployment(), api="v2", catalog=catalog).scope, tmp_path,
                      clock=lambda: 0.0)  # fmt: skip
    with pytest.raises(DeployError, match="no deploy history"):
        history.target(None)
    states = [build_desired(deployment(), api="v2", catalog=catalog, image=i) for i in IMAGES]
    for state in (states[0], states[1], states[1], states[2]):
        history.append(state, source="apply", endpoint_id="ep1")
    records = history.records()
    assert [r.number for r in records] == [1, 2, 3, 4]
    assert records[0].desired == states[0] and records[0].applied_at.startswith("1970-01-01")
    assert history.target(None).number == 3  # newest record with an image other than the live one
    assert history.target(1).desired.image == IMAGES[0]
    with pytest.raises(DeployError, match=r"no history record #9 .*records: 1, 2, 3, 4"):
        history.target(9)
    assert history.path == tmp_path / ".podkit" / "history" / "gpu-worker-staging.json"
    assert "RUNPOD_SECRET_hf_token" in history.path.read_text()  # a reference, not a value


def test_a_damaged_history_file_is_a_clear_error(tmp_path: Path, catalog: list[GpuType]) -> None:
    history = History(build_desired(deployment(), api="v2", catalog=catalog).scope, tmp_path)
    history.path.parent.mkdir(parents=True)
    history.path.write_text("{not json")
    with pytest.raises(DeployError, match="unreadable deploy history"):
        history.records()


def test_each_target_sees_only_its_own_records(tmp_path: Path, catalog: list[GpuType]) -> None:
    from podkit.deploy.history import TargetRef

    scope = build_desired(deployment(), api="v2", catalog=catalog).scope
    here = TargetRef.of("http://127.0.0.1:8765", "key-one")
    there = TargetRef.of("https://api.runpod.io", "key-two")
    assert "key-one" not in str(here) and here != TargetRef.of("http://127.0.0.1:8765", "other")
    states = [build_desired(deployment(), api="v2", catalog=catalog, image=i) for i in IMAGES]
    History(scope, tmp_path, target=here).append(states[0], source="apply", endpoint_id="a")
    History(scope, tmp_path, target=there).append(states[1], source="apply", endpoint_id="b")
    mine = History(scope, tmp_path, target=here)
    assert [(r.number, r.endpoint_id) for r in mine.records()] == [(1, "a")]
    assert [r.number for r in mine.all_records()] == [1, 2]
    assert "key-one" not in mine.path.read_text() and "key-two" not in mine.path.read_text()


def test_after_a_destroy_rollback_brings_back_the_last_release_and_skips_failed_ones(
    tmp_path: Path, catalog: list[GpuType]
) -> None:
    scope = build_desired(deployment(), api="v2", catalog=catalog).scope
    history = History(scope, tmp_path)
    states = [build_desired(deployment(), api="v2", catalog=catalog, image=i) for i in IMAGES]
    history.append(states[0], source="apply", endpoint_id="ep")
    history.append(states[1], source="apply", endpoint_id="ep")
    history.append(states[2], source="apply", endpoint_id="ep")  # #3 fails its gate
    history.append(states[1], source="rollback: release failed on #3", endpoint_id="ep")
    assert history.target(None).number == 1  # not #3, which the gate rolled back
    assert history.last_destroy() is None
    gone = history.append_destroy("v2", "ep")
    assert gone.destroyed and history.last_destroy() == gone
    assert history.target(None).number == 4  # what ran last, recreated


@pytest.mark.parametrize(
    ("damage", "field", "what"),
    [
        (lambda d: d["records"][0].update(resources=7), "records[0].resources",
         "must be a list, not a whole number"),
        (lambda d: d["records"][0].pop("api"), "records[0].api", "is missing"),
        (lambda d: d["records"][0]["resources"][0].update(kind=None),
         "records[0].resources[0].kind", "must be text, not null"),
        (lambda d: d["records"][0]["resources"][0].update(secret_fields=[1]),
         "records[0].resources[0].secret_fields[0]", "must be text, not a whole number"),
        (lambda d: d["records"][0].update(number="1"), "records[0].number",
         "must be a whole number, not text"),
        (lambda d: d["records"][0].update(number=True), "records[0].number",
         "must be a whole number, not true/false"),
        (lambda d: d.update(records={"a": 1}), "records", "must be a list, not an object"),
        (lambda d: d["records"].append(3), "records[1]", "must be an object, not a whole number"),
        (lambda d: d.pop("records"), "records", "is missing"),
    ],
)  # fmt: skip
def test_a_damaged_record_names_the_file_and_the_field_and_how_to_recover(
    tmp_path: Path, catalog: list[GpuType], damage: Any, field: str, what: str
) -> None:
    history = History(build_desired(deployment(), api="v2", catalog=catalog).scope, tmp_path)
    history.append(build_desired(deployment(), api="v2", catalog=catalog), source="apply",
                   endpoint_id="ep1")  # fmt: skip
    data = json.loads(history.path.read_text())
    damage(data)
    history.path.write_text(json.dumps(data))
    with pytest.raises(DeployError) as caught:
        history.records()
    assert caught.value.message == (
        f"{history.path}: unreadable deploy history: field {field} {what}"
    )
    hint = caught.value.hint or ""
    assert f"mv {history.path} {history.path}.bad" in hint and "`podkit history`" in hint


def test_a_history_that_is_not_an_object_is_named_as_such(
    tmp_path: Path, catalog: list[GpuType]
) -> None:
    history = History(build_desired(deployment(), api="v2", catalog=catalog).scope, tmp_path)
    history.path.parent.mkdir(parents=True)
    history.path.write_text("[1, 2]")
    with pytest.raises(
        DeployError, match=r"history: it must be an object with a records list, not a list\n"
    ):
        history.records()


def _two_records(tmp_path: Path, catalog: list[GpuType]) -> tuple[History, dict[str, Any]]:
    history = History(build_desired(deployment(), api="v2", catalog=catalog).scope, tmp_path)
    for image in IMAGES[:2]:
        state = build_desired(deployment(), api="v2", catalog=catalog, image=image)
        history.append(state, source="apply", endpoint_id="ep1")
    return history, json.loads(history.path.read_text())


def test_records_edited_out_of_order_read_and_number_in_order(
    tmp_path: Path, catalog: list[GpuType]
) -> None:
    history, data = _two_records(tmp_path, catalog)
    data["records"].reverse()
    history.path.write_text(json.dumps(data))
    assert [r.number for r in history.records()] == [1, 2]
    assert history.target(None).image == IMAGES[0]  # #2 is the live one
    state = build_desired(deployment(), api="v2", catalog=catalog, image=IMAGES[2])
    assert history.append(state, source="apply", endpoint_id="ep1").number == 3  # not #2 again
    assert [r.number for r in history.records()] == [1, 2, 3]


@pytest.mark.parametrize(
    ("damage", "field", "what"),
    [
        (lambda d: d["records"][1].update(number=1), "records[1].number", "repeats #1"),
        (lambda d: d["records"][0].update(number=0), "records[0].number",
         "must be 1 or more, not 0"),
        (lambda d: d.update(project="other"), "project",
         "is 'other', not 'gpu-worker': this is the history of another project or environment"),
        (lambda d: d.update(env="prod"), "env", "is 'prod', not 'staging'"),
        (lambda d: d["records"][1]["resources"][1]["fields"].update(
            {"env.PODKIT_OWNER": "other/staging"}),
         "records[1].resources[1].fields.env.PODKIT_OWNER",
         "is 'other/staging', not 'gpu-worker/staging': a record of another project"),
        (lambda d: d["records"][0]["resources"][0].update(name="pk-other-staging-models"),
         "records[0].resources[0].name",
         "'pk-other-staging-models' does not start with 'pk-gpu-worker-staging-'"),
    ],
)  # fmt: skip
def test_a_record_numbered_twice_or_of_another_project_is_refused(
    tmp_path: Path, catalog: list[GpuType], damage: Any, field: str, what: str
) -> None:
    """A rollback to such a record would have re-applied another project's owner marker
    and volume onto this project's endpoint (which then belonged to neither)."""
    history, data = _two_records(tmp_path, catalog)
    assert [r["kind"] for r in data["records"][1]["resources"]] == ["volume", "endpoint"]
    damage(data)
    history.path.write_text(json.dumps(data))
    with pytest.raises(DeployError) as caught:
        history.target(1)
    assert caught.value.message.startswith(f"{history.path}: unreadable deploy history: field ")
    assert f"field {field} {what}" in caught.value.message


def test_a_link_planted_where_the_history_is_staged_is_replaced_not_written_through(
    tmp_path: Path, catalog: list[GpuType]
) -> None:
    """`.podkit/` travels between CI runs; a link in it must not make podkit overwrite a
    file elsewhere (the staging file used to be opened through the link)."""
    victim = tmp_path / "elsewhere.txt"
    victim.write_text("keep me\n")
    history = History(build_desired(deployment(), api="v2", catalog=catalog).scope, tmp_path)
    history.path.parent.mkdir(parents=True)
    staged = history.path.with_suffix(".json.incomplete")
    staged.symlink_to(victim)
    history.append(build_desired(deployment(), api="v2", catalog=catalog), source="apply",
                   endpoint_id="ep1")  # fmt: skip
    assert victim.read_text() == "keep me\n"
    assert not staged.exists() and not staged.is_symlink()
    assert not history.path.is_symlink() and [r.number for r in history.records()] == [1]
