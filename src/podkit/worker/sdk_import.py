"""`import runpod` without py-cpuinfo's import-time probe, and nothing else changed.

The SDK's `rp_debugger` calls `cpuinfo.get_cpu_info()` at import, which re-runs Python in a
subprocess (about a second of every cold start) to fill one field that only `--rp_debugger`
prints. While `import runpod` runs, and only then, that function answers from
`/proc/cpuinfo` instead; the real one is put back before any other module loads, so a later
`import cpuinfo` (a library reading CPU flags) gets the real, complete module.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

# `PODKIT_SKIP_CPUINFO=false` keeps the SDK's own probe.
OPT_OUT_ENV = "PODKIT_SKIP_CPUINFO"
_OFF = {"0", "false", "no", "off"}


def skip_probe_enabled(environ: dict[str, str] | None = None) -> bool:
    """True unless the environment opts out (`PODKIT_SKIP_CPUINFO=false`)."""
    env = os.environ if environ is None else environ
    return env.get(OPT_OUT_ENV, "").strip().lower() not in _OFF


def cpu_brand(cpuinfo_path: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name from /proc/cpuinfo, without a subprocess."""
    try:
        text = cpuinfo_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "unknown"
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in {"model name", "Model", "cpu model"} and value.strip():
            return value.strip()
    return "unknown"


@contextmanager
def cpuinfo_probe_skipped() -> Iterator[None]:
    """Within the block, `cpuinfo.get_cpu_info()` answers without a subprocess."""
    try:
        cpuinfo: ModuleType | None = importlib.import_module("cpuinfo")
    except ImportError:  # the SDK vendors or drops it one day: nothing to skip
        cpuinfo = None
    real = getattr(cpuinfo, "get_cpu_info", None)
    if cpuinfo is None or real is None:
        yield
        return

    def quick() -> dict[str, Any]:
        return {"brand_raw": cpu_brand()}

    setattr(cpuinfo, "get_cpu_info", quick)  # noqa: B010 (a module without type stubs)
    try:
        yield
    finally:
        setattr(cpuinfo, "get_cpu_info", real)  # noqa: B010


def import_runpod(*, skip_probe: bool | None = None) -> ModuleType:
    """`import runpod`, skipping the CPU probe unless opted out."""
    if skip_probe is None:
        skip_probe = skip_probe_enabled()
    if not skip_probe:
        return importlib.import_module("runpod")
    with cpuinfo_probe_skipped():
        return importlib.import_module("runpod")
