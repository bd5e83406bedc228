"""Render a Plan: a rich terminal table, a JSON document, Markdown for a CI step summary.

All three go through `FieldChange.shown()`, so secret values are masked in every output.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from podkit.deploy.plan import Change, CostEstimate, Plan

SYMBOLS = {"create": "+", "update": "~", "delete": "-"}
STYLES = {"create": "green", "update": "yellow", "delete": "red"}


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value or '""'  # an empty value (no args) is shown, not a blank cell
    return json.dumps(value)


def _fields(change: Change) -> list[dict[str, Any]]:
    out = []
    for item in change.changes:
        old, new = item.shown()
        out.append({"field": item.field, "old": old, "new": new, "secret": item.secret})
    return out


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """The plan as JSON-ready data (the `--json` contract)."""
    return {
        "project": plan.scope.project,
        "environment": plan.scope.env,
        "api": plan.api,
        "image": plan.desired.image if plan.desired else None,
        "has_changes": plan.has_changes,
        "summary": plan.summary,
        "changes": [
            {
                "action": c.action,
                "kind": c.resource.kind,
                "name": c.resource.name,
                "id": c.resource.id if c.action == "delete" else getattr(c, "remote_id", None),
                "fields": _fields(c),
            }
            for c in plan.changes
        ],
        "notes": list(plan.notes),
        "cost": _cost_dict(plan.cost),
    }


def _cost_dict(cost: CostEstimate | None) -> dict[str, Any] | None:
    if cost is None:
        return None
    return {
        "always_on_usd_per_hour": {"before": cost.hourly_before, "after": cost.hourly_after},
        "volume_usd_per_month": {
            "before": cost.volume_monthly_before,
            "after": cost.volume_monthly_after,
        },
        "hourly_delta": cost.hourly_delta,
        "monthly_delta": cost.monthly_delta,
    }


def plan_to_json(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), indent=2, sort_keys=True)


def cost_line(cost: CostEstimate | None) -> str | None:
    if cost is None:
        return None
    hourly = (
        "unknown (no catalog price)"
        if cost.hourly_after is None
        else f"${cost.hourly_after:.2f}/h ({_signed(cost.hourly_delta)}/h)"
    )
    volume = f"${cost.volume_monthly_after:.2f}/month ({_signed(cost.monthly_delta)}/month)"
    return f"always-on workers {hourly}; network volume {volume}"


def _signed(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{'+' if value >= 0 else '-'}${abs(value):.2f}"


def plan_table(plan: Plan) -> RenderableType:
    """The terminal rendering."""
    title = f"{plan.scope.owner} (REST {plan.api}): {plan.summary}"
    table = Table(title=title, show_lines=False, title_justify="left")
    for column in ("", "kind", "name", "field", "old", "new"):
        table.add_column(column, overflow="fold")
    for change in plan.changes:
        style = STYLES[change.action]
        r = change.resource
        label = f"{r.name}" + (f" ({r.id})" if change.action == "delete" and r.id else "")
        fields = _fields(change)
        cells = [(row["field"], _value(row["old"]), _value(row["new"])) for row in fields]
        for i, (field, old, new) in enumerate(cells or [(getattr(change, "reason", ""), "", "")]):
            table.add_row(
                Text(SYMBOLS[change.action], style=style) if i == 0 else "",
                r.kind if i == 0 else "",
                label if i == 0 else "",
                field,
                old,
                Text(new, style=style),
            )
    parts: list[RenderableType] = [table] if plan.changes else [Text(title)]
    line = cost_line(plan.cost)
    if line:
        parts.append(Text(f"estimated cost: {line}"))
    parts.extend(Text(f"note: {n}", style="yellow") for n in plan.notes)
    return Group(*parts)


def plan_markdown(plan: Plan) -> str:
    """Markdown for `$GITHUB_STEP_SUMMARY`."""
    lines = [f"### podkit plan: `{plan.scope.owner}` (REST {plan.api})", "", f"**{plan.summary}**"]
    if plan.changes:
        lines += ["", "| | kind | name | field | old | new |", "|---|---|---|---|---|---|"]
        for change in plan.changes:
            r = change.resource
            rows = _fields(change) or [
                {"field": getattr(change, "reason", ""), "old": "", "new": ""}
            ]
            for i, row in enumerate(rows):
                head = f"{SYMBOLS[change.action]} | {r.kind} | `{r.name}`" if i == 0 else " | | "
                lines.append(f"| {head} | {row['field']} | {_md(row['old'])} | {_md(row['new'])} |")
    line = cost_line(plan.cost)
    if line:
        lines += ["", f"Estimated cost: {line}"]
    if plan.notes:
        lines += ["", *(f"- note: {n}" for n in plan.notes)]
    return "\n".join(lines) + "\n"


def _md(value: Any) -> str:
    return "`" + _value(value).replace("|", "\\|").replace("`", "'") + "`"
