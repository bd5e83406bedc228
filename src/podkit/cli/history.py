"""`podkit history`: the deploy records of this project and environment, on this target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from podkit.cli._jobs_common import project_history
from podkit.cli.app import app
from podkit.cli.console import console, print_json
from podkit.cli.options import CONFIG, ENV, TARGET
from podkit.config import load_config
from podkit.deploy.history import Record


@app.command("history")
def history_command(
    config: Path = CONFIG,
    env: str | None = ENV,
    target: str | None = TARGET,
    every: bool = typer.Option(False, "--all", help="Also list the records of other targets."),
    as_json: bool = typer.Option(False, "--json", help="Print the records as JSON."),
) -> None:
    """List the deploy history: number, date, image digest, target, what wrote each record.

    `podkit rollback --to N` re-applies record N.
    """
    deployment = load_config(config, env=env).deployment
    history = project_history(config, deployment, target)
    records = history.all_records() if every else history.records()
    if as_json:
        print_json({"file": str(history.path), "records": [record_json(r) for r in records]})
        return
    if not records:
        console.print(f"no deploy records for {history.scope.owner} on this target")
        return
    table = Table(title=f"deploy history of {history.scope.owner}", title_justify="left")
    for column in ("#", "date", "image", "api", "target", "source", "endpoint"):
        table.add_column(column, overflow="fold")
    for r in records:
        image = "(destroyed)" if r.destroyed else r.image
        where = str(r.target) if r.target else "(not recorded)"
        cells = (str(r.number), r.applied_at, image, r.api, where, r.source, r.endpoint_id or "-")
        table.add_row(*(escape(cell) for cell in cells))
    console.print(table)


def record_json(record: Record) -> dict[str, Any]:
    """One record as `podkit history --json` prints it (no resources, no secrets)."""
    target = record.target
    return {
        "number": record.number,
        "applied_at": record.applied_at,
        "image": record.image or None,
        "api": record.api,
        "target": None if target is None else {"origin": target.origin, "account": target.account},
        "source": record.source,
        "endpoint_id": record.endpoint_id,
        "destroyed": record.destroyed,
    }
