"""The secret filter on one list_files page (1,000 entries), as the worker applies it to every
job result; the peer is encoding the same page as JSON, which the SDK does anyway.

    .venv/bin/python bench/scrub_page.py
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from podkit.redact import scrub_data

ENTRIES = [
    {
        "name": f"model-{i:05d}.safetensors",
        "type": "file",
        "size": 123456789 + i,
        "mtime": "2026-12-07T14:00:00Z",
        "path": f"/runpod-volume/models/llama/model-{i:05d}.safetensors",
    }
    for i in range(1000)
]
PAGE = {"entries": ENTRIES}


def best_of(fn: Callable[[], Any], runs: int = 20) -> float:
    """The fastest of `runs` calls, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


if __name__ == "__main__":
    scrub = best_of(lambda: scrub_data(PAGE))
    encode = best_of(lambda: json.dumps(PAGE))
    print(
        f"scrub_data: {scrub * 1000:.1f} ms; json.dumps (peer): {encode * 1000:.1f} ms; "
        f"ratio {scrub / encode:.1f}x"
    )
