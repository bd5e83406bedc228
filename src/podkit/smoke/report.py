"""Smoke results for people: a terminal table and Markdown for `$GITHUB_STEP_SUMMARY`."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from podkit.runpod.job_outcome import seconds
from podkit.smoke.runner import Attempt, SmokeResult

COLUMNS = ("test", "result", "cold queue", "cold exec", "warm queue", "warm exec")


def _ms(value: int | None) -> str:
    return "-" if value is None else seconds(value)


def _cells(result: SmokeResult) -> list[str]:
    cold: Attempt | None = result.cold
    warm: Attempt | None = result.warm
    return [
        result.name,
        "pass" if result.passed else "FAIL",
        _ms(cold.delay_ms if cold else None),
        _ms(cold.execution_ms if cold else None),
        _ms(warm.delay_ms if warm else None),
        _ms(warm.execution_ms if warm else None),
    ]


def summary_line(results: Sequence[SmokeResult]) -> str:
    """`3 smoke tests: 2 passed, 1 failed`."""
    failed = sum(1 for result in results if not result.passed)
    return f"{len(results)} smoke tests: {len(results) - failed} passed, {failed} failed"


def table(results: Sequence[SmokeResult], endpoint_id: str) -> Table:
    """A rich table: one row per test with cold and warm delay / execution times."""
    out = Table(title=f"smoke tests on {endpoint_id}", title_justify="left")
    for column in COLUMNS:
        out.add_column(column, justify="left" if column in ("test", "result") else "right")
    for result in results:
        cells = _cells(result)
        cells[1] = "[green]pass[/]" if result.passed else "[bold red]FAIL[/]"
        out.add_row(*cells)
    return out


def markdown(results: Sequence[SmokeResult], endpoint_id: str, heading: str = "Smoke tests") -> str:
    """The same report as GitHub-flavoured Markdown, failures listed under the table."""
    lines = [
        f"### {heading}",
        "",
        f"Endpoint `{endpoint_id}`: {summary_line(results)}. Cold = first call, warm = second.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(["---", "---", "---:", "---:", "---:", "---:"]) + "|",
    ]
    for result in results:
        cells = [_escape(cell) for cell in _cells(result)]
        cells[1] = ":white_check_mark: pass" if result.passed else ":x: FAIL"
        lines.append("| " + " | ".join(cells) + " |")
    failures = [(r.name, f) for r in results for f in r.failures]
    if failures:
        lines += ["", "**Failures**", ""]
        lines += [f"- `{_escape(name)}`: {_escape(text)}" for name, text in failures]
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
