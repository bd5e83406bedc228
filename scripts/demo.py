"""`make demo`: the main job, against the local RunPod."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from worker_demo import worker_demo  # scripts/ is not a package

if __name__ == "__main__":
    worker_demo()
