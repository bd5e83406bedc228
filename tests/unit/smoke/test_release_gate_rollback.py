"""When a gated apply fails, roll back only what this apply changed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from podkit.cli.release_gate import release_gate, roll_back
from podkit.config import load_config
from podkit.errors import ConfigError

CONFIG = """
project = "p"
[image]
ref = "ghcr.io/acme/w:1@sha256:{digest}"
[endpoint]
gpu_types = ["NVIDIA GeForce RTX 4090"]
"""


def _applied(has_changes: bool, number: int | None) -> Any:
    record = None if number is None else SimpleNamespace(number=number)
    return SimpleNamespace(plan=SimpleNamespace(has_changes=has_changes), record=record)


def _history(numbers: list[int]) -> Any:
    return SimpleNamespace(records=lambda: [SimpleNamespace(number=n) for n in numbers])


def test_an_apply_that_changed_nothing_is_not_rolled_back() -> None:
    said = roll_back(None, _history([1, 2]), _applied(False, None), print, 1.0)  # type: ignore[arg-type]
    assert said.startswith("nothing rolled back: this apply changed nothing")


def test_a_first_deploy_has_nothing_to_return_to() -> None:
    said = roll_back(None, _history([1]), _applied(True, 1), print, 1.0)  # type: ignore[arg-type]
    assert "history record #1 is this project's first deploy" in said


def test_smoke_without_smoke_tests_is_refused_before_applying(tmp_path: Path) -> None:
    path = tmp_path / "podkit.toml"
    path.write_text(CONFIG.format(digest="0" * 64))
    deployment = load_config(path).deployment
    history: Any = None
    with pytest.raises(ConfigError, match="no \\[\\[smoke\\]\\] tests"):
        release_gate(
            deployment,
            history,
            target=None,
            wait=True,
            smoke=True,
            rollout_timeout=1,
            progress=print,
        )
    assert (
        release_gate(
            deployment,
            history,
            target=None,
            wait=False,
            smoke=False,
            rollout_timeout=1,
            progress=print,
        )
        is None
    )
