"""Parse `nvidia-smi` output: the plain table's header and the `--query-gpu` CSV.

Pure functions over text, so the fixtures under `tests/fixtures/nvidia_smi/` test them
without a GPU.
"""

from __future__ import annotations

import csv
import io
import math
import re
from typing import Any

QUERY_FIELDS = (
    "index",
    "name",
    "uuid",
    "memory.total",
    "memory.used",
    "memory.free",
    "utilization.gpu",
    "temperature.gpu",
    "power.draw",
    "power.limit",
    "mig.mode.current",
    "driver_version",
)
QUERY_ARGS = (f"--query-gpu={','.join(QUERY_FIELDS)}", "--format=csv,noheader,nounits")

# field -> (output key, converter)
_COLUMNS: dict[str, tuple[str, type[Any]]] = {
    "index": ("index", int),
    "name": ("name", str),
    "uuid": ("uuid", str),
    "memory.total": ("memory_total_mib", int),
    "memory.used": ("memory_used_mib", int),
    "memory.free": ("memory_free_mib", int),
    "utilization.gpu": ("utilization_gpu_percent", int),
    "temperature.gpu": ("temperature_c", int),
    "power.draw": ("power_draw_w", float),
    "power.limit": ("power_limit_w", float),
    "mig.mode.current": ("mig_mode", str),
    "driver_version": ("driver_version", str),
}
_MISSING = {
    "",
    "n/a",
    "[n/a]",
    "[not supported]",
    "not supported",
    "[unknown error]",
    "[insufficient permissions]",
}
# A decimal number, with the unit a driver that ignores `nounits` appends.
_NUMBER = re.compile(r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(?:MiB|%|W|C)?", re.ASCII)
_CUDA = re.compile(r"CUDA Version:\s*([0-9][0-9.]*)")
_DRIVER = re.compile(r"Driver Version:\s*([0-9][0-9.]*)")


def _value(raw: str, convert: type[Any]) -> Any:
    text = raw.strip()
    if text.lower() in _MISSING:
        return None
    if convert is str:
        return text
    number = _NUMBER.fullmatch(text)
    if number is None:  # not a number nvidia-smi writes (garbage, hex, `1_000`)
        return None
    try:
        value = convert(float(number.group(1))) if convert is int else convert(number.group(1))
    except (ValueError, OverflowError):  # past a float, or inf for a whole one
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None  # no JSON form
    return value


def parse_query(text: str) -> list[dict[str, Any]]:
    """One dict per GPU from `nvidia-smi --query-gpu=<QUERY_FIELDS> --format=csv,noheader,nounits`.

    `[N/A]` and `[Not Supported]` become None; rows with the wrong column count are skipped.
    """
    gpus = []
    rows = csv.reader(io.StringIO(text), skipinitialspace=True)
    try:
        for row in rows:
            if len(row) != len(QUERY_FIELDS):
                continue
            gpu = {}
            for field, raw in zip(QUERY_FIELDS, row, strict=True):
                key, convert = _COLUMNS[field]
                gpu[key] = _value(raw, convert)
            gpus.append(gpu)
    except csv.Error:  # a field past csv's limit: the rows before it stand
        pass
    return gpus


def cuda_version(plain: str) -> str | None:
    """The CUDA version the driver supports, from the plain table's header."""
    match = _CUDA.search(plain)
    return match.group(1) if match else None


def driver_version(plain: str) -> str | None:
    """The driver version from the plain table's header."""
    match = _DRIVER.search(plain)
    return match.group(1) if match else None


def summarise_failure(returncode: int, stdout: str, stderr: str) -> str:
    """One line saying why nvidia-smi failed: its first meaningful message, trimmed."""
    for stream in (stderr, stdout):
        for line in stream.splitlines():
            line = line.strip()
            if line:
                return f"nvidia-smi failed (exit {returncode}): {line[:300]}"
    return f"nvidia-smi failed (exit {returncode}) without a message"
