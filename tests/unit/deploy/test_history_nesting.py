"""A deploy history file nested too deeply to read: the same worded error as any damage."""

from __future__ import annotations

from pathlib import Path

import pytest

from podkit.deploy.desired import build_desired
from podkit.deploy.history import History
from podkit.errors import DeployError
from podkit.runpod.types.v2 import GpuType
from tests.unit.deploy.conftest import deployment


def test_a_history_nested_too_deeply_names_the_file_and_how_to_recover(
    tmp_path: Path, catalog: list[GpuType]
) -> None:
    history = History(build_desired(deployment(), api="v2", catalog=catalog).scope, tmp_path)
    history.path.parent.mkdir(parents=True)
    history.path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DeployError) as caught:
        history.records()
    assert caught.value.message == (
        f"{history.path}: unreadable deploy history: its lists or objects are nested too "
        "deeply to read"
    )
    assert f"mv {history.path} {history.path}.bad" in (caught.value.hint or "")
