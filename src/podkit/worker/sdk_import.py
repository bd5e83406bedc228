"""`import runpod` without py-cpuinfo's import-time probe, and nothing else changed.

The SDK's `rp_debugger` calls `cpuinfo.get_cpu_info()` at import, which re-runs Python in a
subprocess (about a second of every cold start) to fill one field that only `--rp_debugger`
prints. While `import runpod` runs, and only then, that function answers from
`/proc/cpuinfo` instead; the real module is back before any other module loads, so a later
`import cpuinfo` (a library reading CPU flags) gets the real, complete module.
"""

from __future__ import annotations

import importlib
import os
import sys
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
    """Within the block, `cpuinfo.get_cpu_info()` answers without a subprocess.

    Not loaded yet (the usual case): a stand-in module serves the block and is dropped from
    `sys.modules` after it, so the next `import cpuinfo` loads the real one; loading the real
    module here would cost two more subprocesses (`file -b`, `uname -p`). Already loaded: its
    `get_cpu_info` is swapped for the block and put back.
    """
    loaded = sys.modules.get("cpuinfo")
    if loaded is None:
        stub = ModuleType("cpuinfo")
        stub.get_cpu_info = _quick_cpu_info  # type: ignore[attr-defined]
        sys.modules["cpuinfo"] = stub
        try:
            yield
        finally:
            if sys.modules.get("cpuinfo") is stub:
                del sys.modules["cpuinfo"]
        return
    real = getattr(loaded, "get_cpu_info", None)
    if real is None:  # not py-cpuinfo as the SDK knows it: leave it alone
        yield
        return
    setattr(loaded, "get_cpu_info", _quick_cpu_info)  # noqa: B010 (a module without stubs)
    try:
        yield
    finally:
        setattr(loaded, "get_cpu_info", real)  # noqa: B010


def _quick_cpu_info() -> dict[str, Any]:
    return {"brand_raw": cpu_brand()}


def import_runpod(*, skip_probe: bool | None = None) -> ModuleType:
    """`import runpod`, skipping the CPU probe unless opted out."""
    if skip_probe is None:
        skip_probe = skip_probe_enabled()
    if not skip_probe:
        return importlib.import_module("runpod")
    with cpuinfo_probe_skipped():
        return importlib.import_module("runpod")
