"""A minimal `runpod` SDK worker for the control-plane + data-plane test (run as a subprocess).

It answers with its input, one template env var, and the files of its network volume.
"""

import os
import sys
import types
from pathlib import Path

# `import runpod` spawns a CPU probe that only its debugger reads; skip it to start faster.
sys.modules["cpuinfo"] = types.SimpleNamespace(get_cpu_info=lambda: {"brand_raw": "n/a"})

import runpod  # noqa: E402


def handler(job):
    volume = Path(os.environ.get("PODKIT_VOLUME_DIR", "/runpod-volume"))
    files = sorted(p.name for p in volume.iterdir()) if volume.is_dir() else []
    return {"input": job["input"], "greeting": os.environ.get("GREETING"), "files": files}


runpod.serverless.start({"handler": handler})
