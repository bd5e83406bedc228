"""Deploy history: records, rollback targets, a damaged file."""

from __future__ import annotations

from pathlib import Path

import pytest

from podkit.deploy.desired import build_desired
from podkit.deploy.history import History
from podkit.errors import DeployError
from podkit.runpod.types.v2 import GpuType
from tests.unit.deploy.conftest import deployment

IMAGES = [f"ghcr.io/a/w@sha256:{c * 64}" for c in "abc"]


def test_records_round_trip_and_rollback_targets(tmp_path: Path, catalog: list[GpuType]) -> None:
    history = History(build_desired(deployment(), api="v2", catalog=catalog).scope, tmp_path,
                      clock=lambda: 0.0)  # fmt: skip
    with pytest.raises(DeployError, match="no deploy history"):
        history.target(None)
    states = [build_desired(deployment(), api="v2", catalog=catalog, image=i) for i in IMAGES]
    for state in (states[0], states[1], states[1], states[2]):
        history.append(state, source="apply", endpoint_id="ep1")
    records = history.records()
    assert [r.number for r in records] == [1, 2, 3, 4]
    assert records[0].desired == states[0] and records[0].applied_at.startswith("1970-01-01")
    assert history.target(None).number == 3  # newest record with an image other than the live one
    assert history.target(1).desired.image == IMAGES[0]
    with pytest.raises(DeployError, match=r"no history record #9 .*records: 1, 2, 3, 4"):
        history.target(9)
    assert history.path == tmp_path / ".podkit" / "history" / "gpu-worker-staging.json"
    assert "RUNPOD_SECRET_hf_token" in history.path.read_text()  # a reference, not a value


def test_a_damaged_history_file_is_a_clear_error(tmp_path: Path, catalog: list[GpuType]) -> None:
    history = History(build_desired(deployment(), api="v2", catalog=catalog).scope, tmp_path)
    history.path.parent.mkdir(parents=True)
    history.path.write_text("{not json")
    with pytest.raises(DeployError, match="unreadable deploy history"):
        history.records()
