"""Chunk journals on a real directory: names, atomic saves, adopting a dead owner's journal
for the same version (and only then), discarding others, and sweeping orphaned temps."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from podkit.worker.transfer.journal import (
    NAME_MAX,
    Journal,
    adopt_or_create,
    journal_name,
    side_stem,
    sweep_orphans,
    temp_name,
)
from podkit.worker.transfer.lease import lease_path
from podkit.worker.transfer.owner import ACTIVE_RUNS, Owner

STALE = 60.0
DEAD = Owner("0therhst", 4242, "1", "deadrun")  # another host: dead once its heartbeat is old


def _age(*paths: Path) -> None:
    old = time.time() - 10 * STALE
    for path in paths:
        os.utime(path, (old, old))


def _write_journal(
    final: Path, tag: str, *, key: str = "v1", chunk: object = 4, owner: Owner = DEAD
) -> tuple[Path, Path]:
    journal, temp = journal_name(final, tag), temp_name(final, tag)
    temp.write_bytes(b"t" * 10)
    body = {
        "key": key,
        "size": 10,
        "chunk_size": chunk,
        "temp": temp.name,
        "owner": owner.as_dict(),
        "done": {"0": 11, "2": 33},
    }
    journal.write_text(json.dumps(body))
    return journal, temp


@pytest.fixture
def me() -> Owner:
    owner = Owner.me("liverun")
    ACTIVE_RUNS.add("liverun")
    yield owner
    ACTIVE_RUNS.discard("liverun")


def test_names_are_hidden_siblings_of_the_final_file(tmp_path: Path) -> None:
    final = tmp_path / "m" / "w.bin"
    assert temp_name(final, "t1") == tmp_path / "m" / ".w.bin.t1.incomplete"
    assert journal_name(final, "t1") == tmp_path / "m" / ".w.bin.t1.journal"


LONG = "w" * 240 + ".safetensors"  # 252 bytes: a valid name, but not with a suffix added


@pytest.mark.parametrize("name", [LONG, "é" * 120 + ".bin", "model[1]*?.bin"])
def test_a_dead_owners_journal_is_adopted_whatever_the_files_name(
    tmp_path: Path, me: Owner, name: str
) -> None:
    final = tmp_path / name
    old_journal, old_temp = _write_journal(final, "0therhst-4242-dead0", chunk=3)
    _age(old_journal)
    journal = adopt_or_create(final, "v1", 10, 4, me, stale_after=STALE)
    assert journal.done == {0: 11, 2: 33} and not old_temp.exists()
    journal.save()
    scratch = journal.path.with_name(journal.path.name + ".w")
    for side in (journal.path, journal.temp, scratch, lease_path(final)):
        assert len(os.fsencode(side.name)) <= NAME_MAX, side.name
    assert temp_name(final, "t") != temp_name(tmp_path / (name + "x"), "t")


def test_a_name_with_room_for_the_suffixes_is_kept_whole_in_its_side_files() -> None:
    fits = "w" * (NAME_MAX - 64)
    assert side_stem(fits) == fits
    assert side_stem(fits + "w").startswith("w" * 100) and "~" in side_stem(fits + "w")
    assert side_stem(LONG) == side_stem(LONG)  # stable: a later run finds the journal


def test_save_writes_the_whole_record_atomically(tmp_path: Path, me: Owner) -> None:
    final = tmp_path / "w.bin"
    journal = Journal(journal_name(final, "a"), temp_name(final, "a"), "k", 10, 4, me)
    journal.done = {2: 7, 0: 5}
    journal.save()
    assert json.loads(journal.path.read_text()) == {
        "key": "k",
        "size": 10,
        "chunk_size": 4,
        "temp": ".w.bin.a.incomplete",
        "owner": me.as_dict(),
        "done": {"0": 5, "2": 7},
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == [".w.bin.a.journal"]


def test_remove_and_touch_tolerate_missing_files(tmp_path: Path, me: Owner) -> None:
    final = tmp_path / "w.bin"
    journal = Journal(journal_name(final, "a"), temp_name(final, "a"), "k", 10, 4, me)
    journal.touch()
    journal.remove()
    journal.save()
    journal.temp.write_bytes(b"x")
    _age(journal.path)
    journal.touch()
    assert time.time() - journal.path.stat().st_mtime < STALE
    journal.remove()
    assert list(tmp_path.iterdir()) == []


def test_with_nothing_to_adopt_a_fresh_journal_is_started(tmp_path: Path, me: Owner) -> None:
    final = tmp_path / "w.bin"
    journal = adopt_or_create(final, "v1", 10, 4, me, stale_after=STALE)
    assert journal.done == {} and journal.chunk_size == 4 and journal.key == "v1"
    assert journal.path.name.startswith(".w.bin." + me.host)
    assert journal.path.name.endswith(".journal")
    assert not journal.path.exists()


def test_a_dead_owners_journal_for_the_same_version_is_adopted_with_its_chunks(
    tmp_path: Path, me: Owner
) -> None:
    final = tmp_path / "w.bin"
    old_journal, old_temp = _write_journal(final, "0therhst-4242-dead0", chunk=3)
    _age(old_journal)
    journal = adopt_or_create(final, "v1", 10, 4, me, stale_after=STALE)
    assert journal.done == {0: 11, 2: 33}
    assert journal.chunk_size == 3  # its chunks, not this run's
    assert not old_journal.exists() and not old_temp.exists()
    assert journal.temp.read_bytes() == b"t" * 10
    assert json.loads(journal.path.read_text())["owner"] == me.as_dict()


@pytest.mark.parametrize(
    ("key", "chunk"), [("v0", 4), ("v1", 0), ("v1", -4), ("v1", "4"), ("v1", None)]
)
def test_a_dead_owners_journal_for_another_version_or_a_bad_chunk_size_is_discarded(
    tmp_path: Path, me: Owner, key: str, chunk: object
) -> None:
    final = tmp_path / "w.bin"
    old_journal, old_temp = _write_journal(final, "0therhst-4242-dead0", key=key, chunk=chunk)
    _age(old_journal)
    journal = adopt_or_create(final, "v1", 10, 4, me, stale_after=STALE)
    assert journal.done == {} and journal.chunk_size == 4
    assert not old_journal.exists() and not old_temp.exists()


def test_a_live_owners_journal_is_left_alone(tmp_path: Path, me: Owner) -> None:
    final = tmp_path / "w.bin"
    other = Owner.me("otherrun")
    ACTIVE_RUNS.add("otherrun")
    try:
        old_journal, old_temp = _write_journal(final, "live-tag", owner=other)
        journal = adopt_or_create(final, "v1", 10, 4, me, stale_after=STALE)
    finally:
        ACTIVE_RUNS.discard("otherrun")
    assert journal.done == {}
    assert old_journal.exists() and old_temp.exists()


def test_a_recent_journal_of_another_host_is_not_taken(tmp_path: Path, me: Owner) -> None:
    final = tmp_path / "w.bin"
    old_journal, _ = _write_journal(final, "0therhst-4242-dead0")
    journal = adopt_or_create(final, "v1", 10, 4, me, stale_after=STALE)
    assert journal.done == {} and old_journal.exists()


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"key": "v1"}', '{"owner": 5}'])
def test_unreadable_journals_are_skipped_not_trusted(tmp_path: Path, me: Owner, text: str) -> None:
    final = tmp_path / "w.bin"
    broken = journal_name(final, "0therhst-4242-dead0")
    broken.write_text(text)
    _age(broken)
    journal = adopt_or_create(final, "v1", 10, 4, me, stale_after=STALE)
    assert journal.done == {}
    assert broken.exists()


def test_a_journal_whose_temp_is_gone_is_not_claimed(tmp_path: Path, me: Owner) -> None:
    final = tmp_path / "w.bin"
    old_journal, old_temp = _write_journal(final, "0therhst-4242-dead0")
    old_temp.unlink()
    _age(old_journal)
    journal = adopt_or_create(final, "v1", 10, 4, me, stale_after=STALE)
    assert journal.done == {} and journal.chunk_size == 4
    assert list(tmp_path.iterdir()) == []  # the renamed journal went too


def test_journals_of_other_files_are_not_looked_at(tmp_path: Path, me: Owner) -> None:
    other = tmp_path / "other.bin"
    old_journal, _ = _write_journal(other, "0therhst-4242-dead0")
    _age(old_journal)
    journal = adopt_or_create(tmp_path / "w.bin", "v1", 10, 4, me, stale_after=STALE)
    assert journal.done == {} and old_journal.exists()


def test_sweep_removes_dead_temps_without_journals_and_keeps_the_rest(tmp_path: Path) -> None:
    assert sweep_orphans(tmp_path / "missing", stale_after=STALE) == 0
    dead = "0therhst-4242-dead0"
    orphan = tmp_path / f".a.bin.{dead}.incomplete"
    scratch = tmp_path / f".b.bin.{dead}.journal.w"
    journaled, journal = _write_journal(tmp_path / "c.bin", dead)[::-1]
    fresh = tmp_path / ".d.bin.0therhst-4242-fresh0.incomplete"
    final = tmp_path / "e.bin"
    for path in (orphan, scratch, fresh, final):
        path.write_bytes(b"x")
    _age(orphan, scratch, journaled, journal, final)
    assert sweep_orphans(tmp_path, stale_after=STALE) == 2
    assert not orphan.exists() and not scratch.exists()
    assert journaled.exists() and journal.exists() and fresh.exists() and final.exists()


def test_a_fresh_journal_records_the_size_and_its_own_temp(tmp_path: Path, me: Owner) -> None:
    journal = adopt_or_create(tmp_path / "w.bin", "v1", 10, 4, me, stale_after=STALE)
    tag = journal.path.name.removeprefix(".w.bin.").removesuffix(".journal")
    assert journal.size == 10
    assert journal.temp == tmp_path / f".w.bin.{tag}.incomplete"


@pytest.mark.parametrize("first", ["live", "broken", "other version", "no temp"])
def test_a_dead_journal_is_found_behind_one_that_cannot_be_adopted(
    tmp_path: Path, me: Owner, first: str
) -> None:
    final = tmp_path / "w.bin"
    other = Owner.me("otherrun")
    ACTIVE_RUNS.add("otherrun")
    try:
        if first == "broken":
            journal_name(final, "0aaa-1-x").write_text("{")
        elif first == "no temp":
            body = {"key": "v1", "chunk_size": 4, "owner": DEAD.as_dict(), "done": {}}
            journal_name(final, "0aaa-1-x").write_text(json.dumps(body))
        else:
            owner = other if first == "live" else DEAD
            key = "v0" if first == "other version" else "v1"
            first_journal, _ = _write_journal(final, "0aaa-1-x", key=key, owner=owner)
            _age(first_journal) if first != "live" else None
        _write_journal(final, "0zzz-2-y")
        _age(journal_name(final, "0zzz-2-y"), journal_name(final, "0aaa-1-x"))
        journal = adopt_or_create(final, "v1", 10, 4, me, stale_after=STALE)
    finally:
        ACTIVE_RUNS.discard("otherrun")
    assert journal.done == {0: 11, 2: 33}


def test_a_chunk_size_of_one_byte_is_still_adopted(tmp_path: Path, me: Owner) -> None:
    final = tmp_path / "w.bin"
    _age(_write_journal(final, "0therhst-4242-dead0", chunk=1)[0])
    assert adopt_or_create(final, "v1", 10, 4, me, stale_after=STALE).chunk_size == 1


def test_a_journal_of_another_version_whose_temp_is_gone_is_still_discarded(
    tmp_path: Path, me: Owner
) -> None:
    final = tmp_path / "w.bin"
    old_journal, old_temp = _write_journal(final, "0therhst-4242-dead0", key="v0")
    old_temp.unlink()
    _age(old_journal)
    adopt_or_create(final, "v1", 10, 4, me, stale_after=STALE)
    assert not old_journal.exists()


@pytest.mark.parametrize(
    "temp", [None, "", "..", "a/b", ".w.bin.a/b.incomplete", "w.bin", ".other.bin.x.incomplete"]
)
def test_a_journal_that_names_no_temp_of_its_file_is_dropped_and_nothing_else_is_touched(
    tmp_path: Path, me: Owner, temp: str | None
) -> None:
    """A corrupt record must neither crash the sync nor delete or adopt another file (the
    finished file itself, a sibling's temp)."""
    final = tmp_path / "w.bin"
    final.write_bytes(b"finished")
    sibling = tmp_path / ".other.bin.x.incomplete"
    sibling.write_bytes(b"other")
    journal, _ = _write_journal(final, "0therhst-4242-dead0")
    body = json.loads(journal.read_text())
    if temp is None:
        del body["temp"]
    else:
        body["temp"] = temp
    journal.write_text(json.dumps(body))
    _age(journal)
    fresh = adopt_or_create(final, "v1", 10, 4, me, stale_after=STALE)
    assert fresh.done == {}
    assert not journal.exists()
    assert final.read_bytes() == b"finished" and sibling.read_bytes() == b"other"


def test_a_lost_race_for_a_journal_is_no_claim(tmp_path: Path, me: Owner) -> None:
    from podkit.worker.transfer.journal import _claim

    final = tmp_path / "w.bin"
    mine = Journal(journal_name(final, "me"), temp_name(final, "me"), "v1", 10, 4, me)
    assert not _claim(journal_name(final, "gone"), temp_name(final, "gone"), mine)
    assert list(tmp_path.iterdir()) == []


def test_sweep_keeps_old_scratch_files_of_a_live_process_on_this_host(tmp_path: Path) -> None:
    live = Owner.me("sweeprun")  # this host; pid 1 (init) is always alive
    tag = f"{live.host}-1-live0"
    scratch = tmp_path / f".a.bin.{tag}.journal.w"
    temp = tmp_path / f".b.bin.{tag}.incomplete"
    for path in (scratch, temp):
        path.write_bytes(b"x")
    _age(scratch, temp)
    assert sweep_orphans(tmp_path, stale_after=STALE) == 0
    assert scratch.exists() and temp.exists()


def test_sweep_removes_a_dead_journal_whose_file_was_placed_and_keeps_the_rest(
    tmp_path: Path, me: Owner
) -> None:
    # Killed between renaming the temp into place and removing the journal: nothing adopts it.
    placed, gone = _write_journal(tmp_path / "a.bin", "0therhst-4242-dead0")
    gone.unlink()
    live, live_temp = _write_journal(tmp_path / "b.bin", me.tag(), owner=me)
    live_temp.unlink()  # being adopted right now: its owner is alive
    claimed, _ = _write_journal(tmp_path / "c.bin", "0therhst-4242-dead1")
    renamed = journal_name(tmp_path / "c.bin", me.tag())
    claimed.rename(renamed)  # between the two renames of a claim: it still names its old temp
    kept, kept_temp = _write_journal(tmp_path / "d.bin", "0therhst-4242-dead2")
    _age(placed, renamed, kept, kept_temp)  # the live owner's beats: it stays fresh
    assert sweep_orphans(tmp_path, stale_after=STALE) == 1
    assert not placed.exists()
    assert live.exists() and renamed.exists() and kept.exists() and kept_temp.exists()
