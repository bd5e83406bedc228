"""Plan renderers: terminal, JSON, Markdown; secret values never appear in any of them."""

from __future__ import annotations

import json
from dataclasses import replace

from rich.console import Console

from podkit.deploy.desired import build_desired
from podkit.deploy.model import Snapshot
from podkit.deploy.planner import plan
from podkit.deploy.render import plan_markdown, plan_table, plan_to_dict, plan_to_json
from podkit.runpod.types.v2 import GpuType
from tests.unit.deploy.conftest import deployment

SECRET = "hf_live_SECRET_value_42"


def _plan_with_a_secret_change(catalog: list[GpuType]):  # type: ignore[no-untyped-def]
    desired = build_desired(deployment(), api="v2", catalog=catalog)
    ep = desired.get("endpoint")
    assert ep is not None
    remote_ep = replace(
        ep, id="ep1", owner=desired.scope.owner, fields=dict(ep.fields) | {"env.HF_TOKEN": SECRET}
    )
    return plan(desired, Snapshot((remote_ep,)), prices={"ADA_24": 1.0})


def _terminal(p) -> str:  # type: ignore[no-untyped-def]
    console = Console(record=True, width=200)
    console.print(plan_table(p))
    return console.export_text()


def test_secret_values_never_rendered(catalog: list[GpuType]) -> None:
    p = _plan_with_a_secret_change(catalog)
    outputs = [_terminal(p), plan_to_json(p), plan_markdown(p)]
    for text in outputs:
        assert SECRET not in text
        assert "HF_TOKEN" in text
        assert "(sensitive)" in text


def test_json_contract(catalog: list[GpuType]) -> None:
    p = _plan_with_a_secret_change(catalog)
    data = json.loads(plan_to_json(p))
    assert data == plan_to_dict(p)
    assert data["has_changes"] is True
    assert [c["action"] for c in data["changes"]] == ["create", "update"]
    update = data["changes"][1]
    assert update["id"] == "ep1"
    assert {f["field"] for f in update["fields"]} == {"env.HF_TOKEN"}
    assert data["cost"]["volume_usd_per_month"]["after"] == 3.5


def test_markdown_is_a_table_with_summary_and_cost(catalog: list[GpuType]) -> None:
    md = plan_markdown(_plan_with_a_secret_change(catalog))
    assert md.startswith("### podkit plan: `gpu-worker/staging` (REST v2)")
    assert "**1 to create, 1 to update**" in md
    assert "| + | volume | `pk-gpu-worker-staging-models` | data_center |" in md
    assert "Estimated cost:" in md


def test_an_empty_value_is_shown_as_empty_not_as_a_blank_cell(catalog: list[GpuType]) -> None:
    desired = build_desired(deployment(), api="v2", catalog=catalog)
    created = plan(desired, Snapshot(()), prices={"ADA_24": 1.0})
    rows = [[cell.strip() for cell in line.split("│")] for line in _terminal(created).splitlines()]
    (args,) = [row for row in rows if row[4:5] == ["args"]]
    assert args[5:7] == ["-", '""']
    assert '| args | `-` | `""` |' in plan_markdown(created)


def test_no_changes_renders_plainly(catalog: list[GpuType]) -> None:
    desired = build_desired(deployment(), api="v2", catalog=catalog)
    live = Snapshot(
        tuple(replace(r, id="x" + r.kind, owner=desired.scope.owner) for r in desired.resources)
    )
    p = plan(desired, live)
    assert "no changes" in _terminal(p)
    assert "**no changes**" in plan_markdown(p)
