"""`make demo`'s main job: the tour's loop (plan, gated apply, jobs, an update, rollback,
destroy) on the local RunPod."""

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
        "podkit apply --env staging --yes --wait --smoke",
        "podkit plan --env staging",
        "gpu_info",
        "list_files",
        "podkit apply --env staging --yes --wait --smoke --image "
        "ghcr.io/example/podkit-gpu-worker:0.1.1@sha256:" + "4e2d" * 16,
        "podkit rollback --env staging --yes",
        "podkit status --env staging",
        "podkit destroy --env staging --volumes --yes",
    ]
    results = [result.split(",")[0] for _, result in rows]
    assert results[:3] == ["exit 2", "exit 0", "exit 0"]
    assert results[3:] == ["COMPLETED", "COMPLETED", "exit 0", "exit 0", "exit 0", "exit 0"]
    assert "gpu_info: driver" in text  # the worker's GPU table (the emulator's GPU shim)
    assert "/runpod-volume/models/whisper-large-v3/model.safetensors" in text
