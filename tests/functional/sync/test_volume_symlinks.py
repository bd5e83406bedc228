"""Symlinks on the volume never lead a sync outside it: a destination or a folder below it
that resolves outside is refused before anything is written; a link within the volume is
followed; a link under a file's own name is replaced, never written through."""

from __future__ import annotations

from pathlib import Path

import pytest

from podkit.config.models import ModelSource
from podkit.errors import TransferError
from podkit.worker.transfer import sync_models
from tests.functional.sync.test_sources import SMALL
from tests.functional.sync.testbed import FakeGcs

MiB = 1024 * 1024
FILES = {
    "th/config.json": b"{}" * 50,
    "th/sub/tokenizer.json": b"t" * 300,
    "th/big/model.bin": b"m" * (3 * MiB),  # above SMALL's range threshold: the ranged path
}


@pytest.fixture
def bucket(fake_gcs: FakeGcs) -> dict[str, str]:
    fake_gcs.bucket("links-a")
    fake_gcs.put_many("links-a", FILES.items())
    return {"STORAGE_EMULATOR_HOST": fake_gcs.url}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim").write_text("keep")
    return folder


def _entry(destination: str = "models/th") -> ModelSource:
    return ModelSource(source="gs://links-a/th", destination=destination)


@pytest.mark.parametrize("linked", ["sub", "big"])
def test_a_folder_linked_outside_the_volume_is_refused_and_nothing_lands_there(
    bucket: dict[str, str], volume: Path, outside: Path, linked: str
) -> None:
    dest = volume / "models/th"
    dest.mkdir(parents=True)
    (dest / linked).symlink_to(outside)
    with pytest.raises(TransferError) as caught:
        sync_models([_entry()], volume, options=SMALL, env=bucket)
    assert f"th/{linked} resolves outside the volume" in str(caught.value)
    assert "remove the symlink" in (caught.value.hint or "")
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]


def test_a_destination_linked_outside_the_volume_is_refused(
    bucket: dict[str, str], volume: Path, outside: Path
) -> None:
    (volume / "models").symlink_to(outside)
    with pytest.raises(TransferError, match="resolves outside the volume"):
        sync_models([_entry()], volume, options=SMALL, env=bucket)
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]


def test_links_within_the_volume_are_followed(bucket: dict[str, str], volume: Path) -> None:
    shared = volume / "shared"
    shared.mkdir()
    dest = volume / "models/th"
    dest.mkdir(parents=True)
    (dest / "sub").symlink_to(shared)
    report = sync_models([_entry()], volume, options=SMALL, env=bucket)
    assert report.status == "ok", report.message
    assert (shared / "tokenizer.json").read_bytes() == FILES["th/sub/tokenizer.json"]


def test_a_link_under_a_files_name_is_replaced_not_written_through(
    bucket: dict[str, str], volume: Path, outside: Path
) -> None:
    dest = volume / "models/th"
    (dest / "big").mkdir(parents=True)
    (dest / "config.json").symlink_to(outside / "victim")
    (dest / "big/model.bin").symlink_to(outside / "victim")
    report = sync_models([_entry()], volume, options=SMALL, env=bucket)
    assert report.status == "ok", report.message
    assert (outside / "victim").read_text() == "keep"
    for name in ("config.json", "big/model.bin"):
        assert not (dest / name).is_symlink()
        assert (dest / name).read_bytes() == FILES[f"th/{name}"]
