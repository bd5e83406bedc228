"""The "models on the volume" part of `podkit plan`: summaries and renderings, no I/O."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from podkit.deploy.models_view import (
    from_dry_run,
    headline,
    models_markdown,
    models_table,
    models_to_dict,
    not_checked,
    size_text,
)


def _entry(dest: str, fetch: list[tuple[str, str, int | None]], files: int) -> dict[str, Any]:
    return {
        "source": "gs://b/p",
        "destination": dest,
        "files": files,
        "current": files - len(fetch),
        "to_fetch": [
            {"path": p, "reason": r, **({} if s is None else {"size": s})} for p, r, s in fetch
        ],
        "bytes_to_fetch": sum(s or 0 for _, _, s in fetch),
    }


def _text(renderable: Any) -> str:
    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()


def test_missing_and_stale_are_counted_per_kind_across_entries() -> None:
    check = from_dry_run(
        [
            _entry("/runpod-volume/a", [("x.bin", "missing", 2_500_000)], 3),
            _entry("b/", [("y.json", "changed at the source", 10)], 1),
        ],
        "endpoint ep1",
        declared=2,
    )
    data = models_to_dict(check)
    assert data is not None
    assert (data["files"], data["current"], data["bytes_to_fetch"]) == (4, 2, 2_500_010)
    assert data["missing"] == {
        "count": 1,
        "bytes": 2_500_000,
        "paths": [{"path": "/runpod-volume/a/x.bin", "reason": "missing", "size": 2_500_000}],
    }
    assert data["stale"]["count"] == 1 and data["stale"]["paths"][0]["path"] == "b/y.json"
    assert not data["in_shape"]
    assert headline(check) == (
        "1 missing (2.5 MB), 1 stale (10 B), 2 current (endpoint ep1); "
        "`podkit models sync` fetches 2.5 MB"
    )


def test_many_files_name_the_first_few_and_count_the_rest() -> None:
    fetch = [(f"f{i:03}.bin", "missing", 1) for i in range(30)]
    check = from_dry_run([_entry("m", fetch, 30)], "local /v", declared=1)
    data = models_to_dict(check)
    assert data is not None and len(data["missing"]["paths"]) == 20
    text = _text(models_table(check))
    assert "+ m/f004.bin (missing, 1 B)" in text and "f005" not in text
    assert "... and 25 more" in text
    markdown = models_markdown(check)
    assert "- missing: `m/f000.bin (missing, 1 B)`" in markdown and "- ... and 25 more" in markdown


def test_sizes_unknown_to_an_older_worker_are_left_out_not_guessed() -> None:
    check = from_dry_run([_entry("m", [("w.bin", "missing", None)], 1)], "endpoint e", 1)
    assert "+ m/w.bin (missing)" in _text(models_table(check))


def test_states_without_a_dry_run() -> None:
    later = not_checked(3, "after_apply", "the endpoint does not exist yet")
    assert headline(later) == (
        "the endpoint does not exist yet; all files of the 3 [[models]] entries will be "
        "fetched by `podkit models sync` after apply"
    )
    skipped = models_to_dict(not_checked(1, "skipped", "--no-models"))
    assert skipped is not None and skipped["state"] == "skipped" and not skipped["in_shape"]
    assert models_to_dict(None) is None
    assert "not checked (endpoint e): boom" in _text(
        models_table(not_checked(1, "unavailable", "boom", "endpoint e"))
    )


def test_all_current_is_said_in_one_line() -> None:
    check = from_dry_run([_entry("m", [], 7)], "endpoint e", 1)
    assert check.in_shape and headline(check) == "all 7 files current (endpoint e)"
    assert "- " not in models_markdown(check)


def test_sizes_for_people() -> None:
    assert [size_text(n) for n in (0, 999, 1000, 2_500_000, 12 * 10**9, 3 * 10**12)] == [
        "0 B", "999 B", "1.0 kB", "2.5 MB", "12.0 GB", "3000.0 GB",
    ]  # fmt: skip
