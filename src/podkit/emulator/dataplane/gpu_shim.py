"""A stand-in `nvidia-smi` put first on a worker's PATH, so GPU probes work without a GPU.

It speaks the real tool's formats (the plain table and `--query-gpu=... --format=csv,...`)
for the endpoint's GPU type. The worker also gets `PODKIT_EMULATED_GPU=1`, and the table's
product line says "(emulated)", so nobody mistakes it for real hardware.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# name, memory in MiB (as nvidia-smi reports it), power limit W, compute capability
_CATALOG: dict[str, tuple[str, int, int, str]] = {
    "NVIDIA GeForce RTX 4090": ("NVIDIA GeForce RTX 4090", 24564, 450, "8.9"),
    "NVIDIA RTX A4000": ("NVIDIA RTX A4000", 16376, 140, "8.6"),
    "NVIDIA RTX A5000": ("NVIDIA RTX A5000", 24564, 230, "8.6"),
    "NVIDIA RTX A6000": ("NVIDIA RTX A6000", 49140, 300, "8.6"),
    "NVIDIA A40": ("NVIDIA A40", 46068, 300, "8.6"),
    "NVIDIA L4": ("NVIDIA L4", 23034, 72, "8.9"),
    "NVIDIA L40S": ("NVIDIA L40S", 46068, 350, "8.9"),
    "NVIDIA A100 80GB PCIe": ("NVIDIA A100 80GB PCIe", 81920, 300, "8.0"),
    "NVIDIA A100-SXM4-80GB": ("NVIDIA A100-SXM4-80GB", 81920, 400, "8.0"),
    "NVIDIA H100 80GB HBM3": ("NVIDIA H100 80GB HBM3", 81559, 700, "9.0"),
    "NVIDIA H100 PCIe": ("NVIDIA H100 PCIe", 81559, 350, "9.0"),
    "NVIDIA H200": ("NVIDIA H200", 143771, 700, "9.0"),
    "NVIDIA GeForce RTX 5090": ("NVIDIA GeForce RTX 5090", 32607, 575, "12.0"),
}
_POOLS = {
    "AMPERE_16": "NVIDIA RTX A4000",
    "AMPERE_24": "NVIDIA RTX A5000",
    "ADA_24": "NVIDIA GeForce RTX 4090",
    "ADA_32_PRO": "NVIDIA GeForce RTX 5090",
    "AMPERE_48": "NVIDIA RTX A6000",
    "ADA_48_PRO": "NVIDIA L40S",
    "AMPERE_80": "NVIDIA A100 80GB PCIe",
    "ADA_80_PRO": "NVIDIA H100 80GB HBM3",
    "HOPPER_141": "NVIDIA H200",
}
DEFAULT_GPU = "NVIDIA GeForce RTX 4090"
DRIVER = "570.124.06"
CUDA = "12.8"


def gpu_spec(gpu_type: str | None) -> dict[str, object]:
    """The emulated card for a GPU type id or pool id (unknown names keep their name)."""
    key = _POOLS.get(gpu_type or "", gpu_type or DEFAULT_GPU)
    name, memory, power, cc = _CATALOG.get(" ".join(key.split()), (key, 24564, 300, "8.9"))
    return {"name": name, "memory": memory, "power": power, "cc": cc}


def write_shim(directory: Path, gpu_type: str | None, count: int) -> Path:
    """Write `directory/nvidia-smi` for this GPU type; return the directory for PATH."""
    directory.mkdir(parents=True, exist_ok=True)
    spec = {**gpu_spec(gpu_type), "count": max(1, count), "driver": DRIVER, "cuda": CUDA}
    script = directory / "nvidia-smi"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "from podkit.emulator.dataplane.nvidia_smi import main\n"
        f"sys.exit(main(sys.argv[1:], {json.dumps(spec)!r}))\n"
    )
    script.chmod(0o755)
    return directory
