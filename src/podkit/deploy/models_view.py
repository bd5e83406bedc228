"""The "models on the volume" part of `podkit plan`: a summary of a `sync_models` dry run
(or why there is none), rendered for the terminal, JSON and Markdown.

Pure, like the planner: the CLI runs the dry run (on the deployed endpoint, or here with
`--local DIR`) and hands its entries to `from_dry_run`. Missing or stale models never change
`plan`'s exit code, which speaks of infrastructure only; `podkit models sync` fetches them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.text import Text

State = Literal["checked", "after_apply", "skipped", "unavailable"]

SHOWN = 5  # paths named in the terminal and Markdown
LISTED = 20  # paths listed per kind in JSON
SYNC = "`podkit models sync`"


@dataclass(frozen=True)
class ModelFile:
    """One file a sync would fetch: its path on the volume, why, and its size if known."""

    path: str
    reason: str
    size: int | None = None

    @property
    def missing(self) -> bool:
        return self.reason == "missing"


@dataclass(frozen=True)
class ModelsCheck:
    """What the volume holds of the declared `[[models]]`, or why that is not known."""

    state: State
    entries: int
    where: str = ""
    reason: str = ""
    files: int = 0
    current: int = 0
    to_fetch: tuple[ModelFile, ...] = ()
    bytes_to_fetch: int = 0

    @property
    def missing(self) -> tuple[ModelFile, ...]:
        return tuple(f for f in self.to_fetch if f.missing)

    @property
    def stale(self) -> tuple[ModelFile, ...]:
        return tuple(f for f in self.to_fetch if not f.missing)

    @property
    def in_shape(self) -> bool:
        return self.state == "checked" and not self.to_fetch


def from_dry_run(entries: Iterable[Mapping[str, Any]], where: str, declared: int) -> ModelsCheck:
    """Summarise the per-entry output of `plan_models` / `sync_models` with `dry_run`."""
    files: list[ModelFile] = []
    total = current = fetch_bytes = 0
    for entry in entries:
        base = str(entry.get("destination", "")).rstrip("/")
        for item in entry.get("to_fetch", []):
            size = item.get("size")
            path = f"{base}/{item['path']}" if base else str(item["path"])
            files.append(ModelFile(path, str(item.get("reason", "")), _int_or_none(size)))
        total += int(entry.get("files", 0))
        current += int(entry.get("current", 0))
        fetch_bytes += int(entry.get("bytes_to_fetch", 0))
    return ModelsCheck(
        "checked", declared, where, files=total, current=current,
        to_fetch=tuple(files), bytes_to_fetch=fetch_bytes,
    )  # fmt: skip


def not_checked(declared: int, state: State, reason: str, where: str = "") -> ModelsCheck:
    """A check that did not run: `after_apply`, `skipped` or `unavailable`, and why."""
    return ModelsCheck(state, declared, where, reason)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _bytes(files: Iterable[ModelFile]) -> int:
    return sum(f.size or 0 for f in files)


def size_text(n: int) -> str:
    """Bytes for people: 512 B, 3.1 MB, 12.0 GB."""
    value = float(n)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def models_to_dict(check: ModelsCheck | None) -> dict[str, Any] | None:
    """The `models` key of `podkit plan --json` (None when podkit.toml declares none)."""
    if check is None:
        return None
    missing, stale = check.missing, check.stale
    return {
        "state": check.state,
        "entries": check.entries,
        "where": check.where or None,
        "reason": check.reason or None,
        "files": check.files,
        "current": check.current,
        "missing": {"count": len(missing), "bytes": _bytes(missing), "paths": _paths(missing)},
        "stale": {"count": len(stale), "bytes": _bytes(stale), "paths": _paths(stale)},
        "bytes_to_fetch": check.bytes_to_fetch,
        "in_shape": check.in_shape,
    }


def _paths(files: tuple[ModelFile, ...]) -> list[dict[str, Any]]:
    return [{"path": f.path, "reason": f.reason, "size": f.size} for f in files[:LISTED]]


def headline(check: ModelsCheck) -> str:
    """One line: the counts, or why there are none."""
    where = f" ({check.where})" if check.where else ""
    if check.state == "after_apply":
        return (
            f"{check.reason}; all files of the {check.entries} [[models]] "
            f"{'entry' if check.entries == 1 else 'entries'} will be fetched by {SYNC} after apply"
        )
    if check.state != "checked":
        return f"not checked{where}: {check.reason}"
    if check.in_shape:
        return f"all {check.files} files current{where}"
    missing, stale = check.missing, check.stale
    return (
        f"{len(missing)} missing ({size_text(_bytes(missing))}), "
        f"{len(stale)} stale ({size_text(_bytes(stale))}), {check.current} current{where}; "
        f"{SYNC} fetches {size_text(check.bytes_to_fetch)}"
    )


def _line(item: ModelFile) -> str:
    size = "" if item.size is None else f", {size_text(item.size)}"
    return f"{item.path} ({item.reason}{size})"


def _more(check: ModelsCheck) -> list[str]:
    left = len(check.to_fetch) - SHOWN
    return [f"... and {left} more"] if left > 0 else []


def models_table(check: ModelsCheck) -> RenderableType:
    """The terminal rendering, printed under the plan table (+ missing, ~ stale)."""
    style = "green" if check.in_shape else "yellow"
    head = Text.from_markup(f"[bold]models on the volume:[/] [{style}]{escape(headline(check))}[/]")
    lines = [f"  {'+' if f.missing else '~'} {_line(f)}" for f in check.to_fetch[:SHOWN]]
    return Group(head, *(Text(line) for line in lines + [f"  {m}" for m in _more(check)]))


def models_markdown(check: ModelsCheck) -> str:
    """Markdown appended to the plan's (for `$GITHUB_STEP_SUMMARY`)."""
    lines = ["", "#### Models on the volume", "", headline(check)]
    if check.to_fetch:
        items = [
            f"- {'missing' if f.missing else 'stale'}: `{_md_code(_line(f))}`"
            for f in check.to_fetch[:SHOWN]
        ]
        lines += ["", *items, *(f"- {m}" for m in _more(check))]
    return "\n".join(lines) + "\n"


def _md_code(text: str) -> str:
    return text.replace("`", "'")
