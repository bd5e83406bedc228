from __future__ import annotations

from pathlib import Path

import pytest

from podkit.errors import TransferError
from podkit.worker.transfer.overlap import refuse_overlaps

VOLUME = Path("/runpod-volume")


def test_files_side_by_side_and_shared_folders_pass() -> None:
    refuse_overlaps(
        [
            ("hf://org/a", VOLUME / "models/a", ["config.json", "unet/w.bin", "vae/w.bin"]),
            ("gs://b/extra", VOLUME / "models/a", ["extra/w.bin", "notes.txt"]),
            ("https://h/w.bin", VOLUME / "models", ["w.bin"]),
        ]
    )


def test_two_entries_putting_one_file_are_named_both() -> None:
    with pytest.raises(TransferError) as caught:
        refuse_overlaps(
            [
                ("hf://org/a", VOLUME / "models/a", ["config.json", "w.bin"]),
                ("https://h/w.bin", VOLUME / "models/a", ["w.bin"]),
            ]
        )
    message = caught.value.message
    assert "two [[models]] entries put a file at /runpod-volume/models/a/w.bin" in message
    assert "hf://org/a and https://h/w.bin" in message
    assert "different destinations" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("placed", "file", "folder"),
    [
        (  # another entry's destination runs through a file
            [("a", VOLUME / "m", ["x"]), ("b", VOLUME / "m/x", ["w.bin"])],
            "/runpod-volume/m/x",
            "/runpod-volume/m/x/w.bin",
        ),
        (  # one source holding `a` and `a/b` (S3 allows both keys)
            [("s3://b/p", VOLUME / "m", ["a", "a/b/c.bin", "a/b/d.bin"])],
            "/runpod-volume/m/a",
            "/runpod-volume/m/a/b/c.bin",
        ),
    ],
)
def test_a_file_where_a_folder_must_go_is_refused(
    placed: list[tuple[str, Path, list[str]]], file: str, folder: str
) -> None:
    with pytest.raises(TransferError) as caught:
        refuse_overlaps(placed)
    assert f"puts a file at {file}, where" in caught.value.message
    assert f"puts a folder (for {folder})" in caught.value.message
