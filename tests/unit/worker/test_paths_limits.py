"""The length limits of request paths, at their exact boundaries (Linux: PATH_MAX 4096 with
its NUL, so 4095 bytes of text; NAME_MAX 255 bytes per name, counted in UTF-8)."""

from __future__ import annotations

import pytest

from podkit.errors import WorkerInputError
from podkit.worker.paths import check_text

PREFIX = "/runpod-volume"


def path_of(length: int) -> str:
    """A path under /runpod-volume of exactly `length` bytes, names of at most 200 bytes."""
    parts, left = [PREFIX], length - len(PREFIX)
    while left > 1:
        take = min(200, left - 1)  # one byte for the slash
        parts.append("a" * take)
        left -= take + 1
    if left:
        parts[-1] += "a"
    path = "/".join(parts)
    assert len(path.encode()) == length, (len(path.encode()), length)
    return path


def test_a_path_of_exactly_4095_bytes_is_accepted() -> None:
    parts = check_text(path_of(4095))
    assert parts[0] == "runpod-volume"
    assert sum(len(p) + 1 for p in parts) == 4095


def test_a_path_of_4096_bytes_is_refused_naming_its_length_and_the_limit() -> None:
    with pytest.raises(WorkerInputError, match=r"too long \(4096 bytes, the limit is 4095\)"):
        check_text(path_of(4096))


def test_the_path_limit_counts_bytes_not_characters() -> None:
    # 2-byte characters: 2065 characters, 4095 bytes; one more character is over.
    text = PREFIX + ("/" + "é" * 100) * 20 + "/" + "é" * 30
    assert len(text.encode()) == 4095 and len(text) == 2065
    assert len(check_text(text)) == 22
    with pytest.raises(WorkerInputError, match=r"too long \(4097 bytes"):
        check_text(text + "é")


def test_a_name_of_exactly_255_bytes_is_accepted_and_256_refused() -> None:
    assert check_text(f"{PREFIX}/{'n' * 255}") == ["runpod-volume", "n" * 255]
    with pytest.raises(WorkerInputError, match=r"a name over 255 bytes \(nnnn"):
        check_text(f"{PREFIX}/{'n' * 256}")


def test_the_name_limit_counts_utf8_bytes() -> None:
    assert check_text(f"{PREFIX}/{'é' * 127}x") == ["runpod-volume", "é" * 127 + "x"]
    with pytest.raises(WorkerInputError, match="over 255 bytes"):
        check_text(f"{PREFIX}/{'é' * 127}xy")
