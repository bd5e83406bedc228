"""One shared data plane per module: worker processes are slow to start, so tests share them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from podkit.emulator.dataplane import DataPlaneSettings
from tests.functional.emulator_dataplane.harness import Served, serve_dataplane

FAST = DataPlaneSettings(
    worker_poll_hold_s=1.0, ping_interval_ms=1000, stop_grace_s=3.0, webhook_retry_s=0.2
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A data plane on a free loopback port, shared by one test module."""
    state_dir: Path = tmp_path_factory.mktemp("dataplane")
    with serve_dataplane(state_dir, settings=FAST) as running:
        yield running
