"""The state file on a real directory: each save merges what is on the volume, also when a
later save of this process skips re-reading the file it wrote itself. And the local side of
a plan: what each destination path holds."""

from __future__ import annotations

import json
from pathlib import Path

from podkit.worker.transfer.engine import local_stats
from podkit.worker.transfer.state import STATE_NAME, Recorded, load_state, save_state


def _entry(name: str) -> dict[str, Recorded]:
    return {name: Recorded(f"1:{name}", 1, 1)}


def test_saves_merge_another_workers_entries_written_between_them(tmp_path: Path) -> None:
    mine = save_state(tmp_path, "hf://org/model", _entry("a.json"), "me")
    mine = save_state(tmp_path, "hf://org/model", _entry("b.json"), "me", mine)
    save_state(tmp_path, "hf://org/model", _entry("theirs.json"), "other")  # another worker
    mine = save_state(tmp_path, "hf://org/model", _entry("c.json"), "me", mine)
    assert sorted(load_state(tmp_path)) == ["a.json", "b.json", "c.json", "theirs.json"]
    assert mine is not None and sorted(mine.encoded) == sorted(load_state(tmp_path))


def test_the_file_is_plain_json_with_every_entry_as_recorded(tmp_path: Path) -> None:
    tricky = {
        'a "quoted"\\name.json': Recorded('1:"v"\\x', 1, 2),
        "z/ünï.json": Recorded("2:k", 3, 4),
    }
    mine = save_state(tmp_path, 'hf://org/"model"', tricky, "me")
    save_state(tmp_path, "hf://org/model", _entry("b.json"), "me", mine)
    body = json.loads((tmp_path / STATE_NAME).read_text())
    assert body["version"] == 1 and body["source"] == "hf://org/model"
    assert list(body["files"]) == sorted([*tricky, "b.json"])
    assert load_state(tmp_path) == {**tricky, **_entry("b.json")}


def test_a_save_with_nothing_new_writes_nothing(tmp_path: Path) -> None:
    assert save_state(tmp_path, "hf://org/model", {}, "me") is None
    assert not any(tmp_path.iterdir())


def test_local_stats_see_present_files_and_skip_missing_directories(tmp_path: Path) -> None:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg/a.json").write_bytes(b"12345")
    (tmp_path / "top.txt").write_bytes(b"1")
    (tmp_path / "blocked").write_bytes(b"a file where a directory should be")
    paths = ["cfg/a.json", "cfg/b.json", "top.txt", "gone/x/y.bin", "gone/x/z.bin", "blocked/c"]
    stats = local_stats(tmp_path, paths)
    assert stats["cfg/a.json"] == (5, (tmp_path / "cfg/a.json").stat().st_mtime_ns)
    assert stats["top.txt"] is not None and stats["top.txt"][0] == 1
    assert [p for p, stat in stats.items() if stat is None] == paths[1:2] + paths[3:]
