"""The worker part of `make demo`: podkit's worker on this machine, three actions, readable.

`worker_demo(console)` starts `python -m podkit.worker` under the runpod SDK's local API with a
temporary directory as its network volume, calls `gpu_info`, `list_files` and `disk_usage`
over HTTP, and prints what comes back. Without a GPU, gpu_info's answer is the clear job error.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from podkit.worker.local import LocalWorker, offline_env

SAMPLE_MODELS = {
    "models/sdxl/unet/diffusion_pytorch_model.safetensors": 5_135_149_760,
    "models/sdxl/vae/diffusion_pytorch_model.safetensors": 334_643_268,
    "models/sdxl/model_index.json": 609,
    "models/whisper-large-v3/model.safetensors": 3_087_130_976,
    "models/whisper-large-v3/config.json": 1_272,
}


def make_volume(root: Path) -> Path:
    """A volume directory with a few model files (sparse: their sizes cost no disk)."""
    for rel, size in SAMPLE_MODELS.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            fh.truncate(size)
    return root


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


def show_gpu(console: Console, body: dict[str, Any]) -> None:
    """gpu_info: the GPUs, or the job error that explains why there are none."""
    if body.get("status") != "COMPLETED":
        console.print(
            Panel(body.get("error", str(body)), title="gpu_info -> job error", style="yellow")
        )
        return
    out = body["output"]
    table = Table(title=f"gpu_info: driver {out['driver_version']}, CUDA {out['cuda_version']}")
    for col in ("#", "name", "memory used / total (MiB)", "util %", "MIG"):
        table.add_column(col)
    for gpu in out["gpus"]:
        mem = f"{gpu['memory_used_mib']} / {gpu['memory_total_mib']}"
        table.add_row(
            str(gpu["index"]),
            gpu["name"],
            mem,
            str(gpu["utilization_gpu_percent"]),
            str(gpu["mig_mode"]),
        )
    console.print(table)


def show_listing(console: Console, body: dict[str, Any]) -> None:
    """list_files: one row per entry."""
    out = body["output"]
    table = Table(title=f"list_files {out['path']} (recursive)")
    table.add_column("path", overflow="fold")
    for col in ("type", "size", "modified"):
        table.add_column(col, no_wrap=True)
    entries = sorted(out["directories"] + out["files"], key=lambda e: e["path"])
    for e in entries:
        size = _human(e["size"]) if "size" in e else ""
        table.add_row(e["path"], e["type"], size, e.get("modified", "")[:16].replace("T", " "))
    console.print(table)
    totals = f"{out['total_files']} files, {out['total_directories']} directories"
    console.print(f"  {totals}, next_cursor={out['next_cursor']}")


def show_disk(console: Console, body: dict[str, Any]) -> None:
    """disk_usage: one row per allowed root."""
    table = Table(title="disk_usage")
    for col in ("root", "total", "used", "free", "filesystem", "network"):
        table.add_column(col, no_wrap=True)
    notes = []
    for r in body["output"]["roots"]:
        if "error" in r:
            table.add_row(r["path"], "-", "-", "-", "-", "-")
            notes.append(f"  {r['path']}: {r['error']}")
            continue
        table.add_row(
            r["path"],
            _human(r["total_bytes"]),
            _human(r["used_bytes"]),
            _human(r["free_bytes"]),
            str(r["filesystem"]),
            "yes" if r["network_volume"] else "no",
        )
    console.print(table)


def worker_demo(console: Console | None = None) -> None:
    """Run the worker locally against a temporary volume and print its three actions."""
    console = console or Console()
    with tempfile.TemporaryDirectory(prefix="podkit-volume-") as tmp:
        volume = make_volume(Path(tmp))
        env = offline_env({"PODKIT_VOLUME_DIR": str(volume), "PODKIT_SKIP_CPUINFO": "true"})
        console.rule("podkit worker (runpod SDK local API, volume = a temporary directory)")
        with (
            console.status("starting python -m podkit.worker --rp_serve_api ..."),
            LocalWorker(env) as worker,
        ):
            gpu = worker.runsync({"action": "gpu_info"})
            listing = worker.runsync(
                {"action": "list_files", "path": "/runpod-volume", "recursive": True}
            )
            disk = worker.runsync({"action": "disk_usage"})
            refused = worker.runsync({"action": "list_files", "path": "/runpod-volume/../etc"})
        show_gpu(console, gpu)
        show_listing(console, listing)
        show_disk(console, disk)
        console.print(
            Panel(
                refused["error"],
                title="list_files /runpod-volume/../etc -> job error",
                style="green",
            )
        )


if __name__ == "__main__":
    worker_demo()
