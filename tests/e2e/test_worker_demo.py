"""The worker part of `make demo` runs and shows all three actions' real answers."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from worker_demo import worker_demo  # scripts/ is not a package


def test_worker_demo_prints_the_three_actions() -> None:
    console = Console(record=True, width=200, color_system=None)
    worker_demo(console)
    text = console.export_text()
    assert "gpu_info" in text
    if shutil.which("nvidia-smi") is None:  # no GPU: the truthful answer is the job error
        assert "no NVIDIA driver visible in this container (nvidia-smi not found)" in text
    else:
        assert "gpu_info: driver" in text
    assert "/runpod-volume/models/sdxl/unet/diffusion_pytorch_model.safetensors" in text
    assert "4.8 GiB" in text
    assert "disk_usage" in text
    assert "contains '..'" in text
