"""The state file on a real directory: each save merges what is on the volume, also when a
later save of this process skips re-reading the file it wrote itself."""

from __future__ import annotations

from pathlib import Path

from podkit.worker.transfer.state import Recorded, load_state, save_state


def _entry(name: str) -> dict[str, Recorded]:
    return {name: Recorded(f"1:{name}", 1, 1)}


def test_saves_merge_another_workers_entries_written_between_them(tmp_path: Path) -> None:
    mine = save_state(tmp_path, "hf://org/model", _entry("a.json"), "me")
    mine = save_state(tmp_path, "hf://org/model", _entry("b.json"), "me", mine)
    save_state(tmp_path, "hf://org/model", _entry("theirs.json"), "other")  # another worker
    mine = save_state(tmp_path, "hf://org/model", _entry("c.json"), "me", mine)
    assert sorted(load_state(tmp_path)) == ["a.json", "b.json", "c.json", "theirs.json"]
    assert mine is not None and sorted(mine.files) == sorted(load_state(tmp_path))


def test_a_save_with_nothing_new_writes_nothing(tmp_path: Path) -> None:
    assert save_state(tmp_path, "hf://org/model", {}, "me") is None
    assert not any(tmp_path.iterdir())
