"""Opening is race-safe: a link swapped in between the check and the open is not followed."""

from __future__ import annotations

from pathlib import Path

import pytest

from podkit.errors import WorkerInputError
from podkit.worker.paths import Root, Roots, open_dir


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Roots, Path, Path]:
    vol, outside = tmp_path / "vol", tmp_path / "outside"
    (vol / "a" / "b").mkdir(parents=True)
    (outside / "b").mkdir(parents=True)
    return Roots([Root("/runpod-volume", str(vol))]), vol, outside


@pytest.mark.parametrize("swap", ["a", "a/b"])
def test_swapped_component_is_refused(roots: tuple[Roots, Path, Path], swap: str) -> None:
    r, vol, outside = roots
    target = r.resolve("/runpod-volume/a/b")
    victim = vol / swap
    victim.rename(vol / "moved")
    victim.symlink_to(outside if swap == "a" else outside / "b")
    with pytest.raises(WorkerInputError, match="symbolic link"), open_dir(target):
        pass


def test_unswapped_path_opens(roots: tuple[Roots, Path, Path]) -> None:
    r, _, _ = roots
    with open_dir(r.resolve("/runpod-volume/a/b")) as fd:
        assert fd > 0


def test_lone_surrogate_in_a_request_is_refused(roots: tuple[Roots, Path, Path]) -> None:
    r, _, _ = roots
    with pytest.raises(WorkerInputError, match="not valid text"):
        r.resolve("/runpod-volume/\ud800")
