"""`podkit status` as a person reads it."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from podkit.deploy.status import render_status


def _report(total: int, percent: int, rolling: bool) -> dict[str, Any]:
    return {
        "project": "demo",
        "environment": "staging",
        "api": "v2",
        "endpoints": [
            {
                "name": "demo-staging",
                "id": "ep1",
                "endpoint_version": 2,
                "rollout": {"percent_on_latest": percent, "in_progress": rolling},
                "workers": {"total": total, "running": 0, "idle": total},
                "workers_max": 2,
                "queue": {"in_queue": 0, "in_progress": 0},
            }
        ],
        "quota": {"used": 2, "limit": 5, "available": 3},
        "history": {"current": None, "image": None},
    }


def _text(report: dict[str, Any]) -> str:
    console = Console(width=200, record=True)
    console.print(render_status(report))
    return console.export_text()


def test_an_endpoint_without_workers_says_so_instead_of_zero_percent() -> None:
    text = _text(_report(total=0, percent=0, rolling=False))
    assert "no workers yet" in text
    assert "0% on latest" not in text


def test_a_rollout_in_progress_shows_its_share() -> None:
    assert "50% on latest (rolling)" in _text(_report(total=2, percent=50, rolling=True))


def test_unhealthy_workers_are_counted_apart_and_a_destroy_is_named() -> None:
    report = _report(3, 100, False)
    report["endpoints"][0]["workers"] = {"total": 3, "running": 0, "idle": 1, "unhealthy": 2}
    report["history"] = {"current": 4, "image": "", "destroyed_at": "2026-12-06T10:00:00+00:00"}
    console = Console(record=True, width=200, color_system=None)
    console.print(render_status(report))
    text = console.export_text()
    assert "1 (0 running, 1 idle); max 2; 2 unhealthy" in text
    assert "destroyed on 2026-12-06 by history #4; run podkit apply" in text
