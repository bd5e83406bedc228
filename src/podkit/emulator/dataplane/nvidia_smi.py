"""The emulated `nvidia-smi` itself (run by the shim script `gpu_shim` writes)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any


def _fields(spec: dict[str, Any], index: int) -> dict[str, str]:
    total = int(spec["memory"])
    used = 1
    return {
        "index": str(index),
        "name": spec["name"],
        "uuid": f"GPU-00000000-0000-4000-8000-{index:012d}",
        "pci.bus_id": f"00000000:{index + 1:02X}:00.0",
        "driver_version": spec["driver"],
        "memory.total": str(total),
        "memory.used": str(used),
        "memory.free": str(total - used),
        "memory.reserved": "0",
        "utilization.gpu": "0",
        "utilization.memory": "0",
        "temperature.gpu": "31",
        "power.draw": "21.50",
        "power.limit": f"{int(spec['power']):.2f}",
        "compute_cap": spec["cc"],
        "count": str(spec["count"]),
        "pstate": "P8",
        "fan.speed": "0",
        "mig.mode.current": "[N/A]" if "GeForce" in spec["name"] else "Disabled",
    }


_UNITS = {
    "memory.total": " MiB",
    "memory.used": " MiB",
    "memory.free": " MiB",
    "memory.reserved": " MiB",
    "utilization.gpu": " %",
    "utilization.memory": " %",
    "power.draw": " W",
    "power.limit": " W",
    "fan.speed": " %",
}


def _query(spec: dict[str, Any], query: str, fmt: str) -> int:
    names = [name.strip() for name in query.split(",") if name.strip()]
    for name in names:
        if name not in _fields(spec, 0):
            print(f'Field "{name}" is not a valid field to query.\n')
            return 2
    options = {opt.strip() for opt in fmt.split(",")}
    if "noheader" not in options:
        header = [n + (" [MiB]" if _UNITS.get(n) == " MiB" else "") for n in names]
        print(", ".join(header))
    for index in range(int(spec["count"])):
        row = _fields(spec, index)
        units = "nounits" not in options
        print(", ".join(row[n] + (_UNITS.get(n, "") if units else "") for n in names))
    return 0


_HEAD_ECC = " Volatile Uncorr. ECC |"
_HEAD_UTIL = " GPU-Util  Compute M. |"


def _table(spec: dict[str, Any]) -> int:
    now = datetime.now().strftime("%a %b %d %H:%M:%S %Y")
    rule = "+" + "-" * 89 + "+"
    print(now)
    print(rule)
    print(
        f"| NVIDIA-SMI {spec['driver']}             Driver Version: {spec['driver']}"
        f"     CUDA Version: {spec['cuda']}     |"
    )
    print("| (emulated by podkit: no real GPU)" + " " * 55 + "|")
    print("|" + "-" * 41 + "+" + "-" * 24 + "+" + "-" * 22 + "|")
    print("| GPU  Name                 Persistence-M | Bus-Id          Disp.A |" + _HEAD_ECC)
    print("| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage |" + _HEAD_UTIL)
    print("|" + "=" * 41 + "+" + "=" * 24 + "+" + "=" * 22 + "|")
    for index in range(int(spec["count"])):
        row = _fields(spec, index)
        name = row["name"][:28]
        print(f"| {index:>3}  {name:<28}    On | {row['pci.bus_id']} Off |                    0 |")
        power = f"{float(row['power.draw']):.0f}W / {float(row['power.limit']):.0f}W"
        memory = f"{row['memory.used']}MiB / {row['memory.total']}MiB"
        print(f"| N/A   31C    P8 {power:>23} | {memory:>22} |      0%      Default |")
        print(rule)
    return 0


def main(argv: list[str], spec_json: str) -> int:
    """Answer like nvidia-smi: `--query-gpu=a,b --format=csv[,noheader][,nounits]` or a table."""
    spec = json.loads(spec_json)
    query = next((a.split("=", 1)[1] for a in argv if a.startswith("--query-gpu=")), None)
    fmt = next((a.split("=", 1)[1] for a in argv if a.startswith("--format=")), "csv")
    if query is not None:
        return _query(spec, query, fmt)
    if "-L" in argv or "--list-gpus" in argv:
        for index in range(int(spec["count"])):
            print(f"GPU {index}: {spec['name']} (UUID: {_fields(spec, index)['uuid']})")
        return 0
    return _table(spec)
