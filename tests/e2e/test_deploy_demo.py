"""`make demo`'s main job: plan, apply, gpu_info and list_files on the endpoint, destroy."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from deploy_demo import deploy_demo  # scripts/ is not a package


def test_demo_deploys_calls_the_worker_and_tears_down() -> None:
    console = Console(record=True, width=200, color_system=None)
    rows = deploy_demo(console)
    text = console.export_text()
    steps = [step.split(" on ")[0] for step, _ in rows]
    assert steps == [
        "podkit plan --env staging",
        "podkit apply --env staging --yes",
        "podkit plan --env staging",
        "gpu_info",
        "list_files",
        "podkit status --env staging",
        "podkit destroy --env staging --volumes --yes",
    ]
    results = [result.split(",")[0] for _, result in rows]
    assert results == ["exit 2", "exit 0", "exit 0", "COMPLETED", "COMPLETED", "exit 0", "exit 0"]
    assert "gpu_info: driver" in text  # the worker's GPU table (the emulator's GPU shim)
    assert "/runpod-volume/models/whisper-large-v3/model.safetensors" in text
