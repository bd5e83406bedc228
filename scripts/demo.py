"""`make demo`: the main job, against the local RunPod.

Deploys examples/gpu-worker with plan and apply, calls the worker's `gpu_info` and
`list_files` on the new endpoint, prints the summary, and tears everything down.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploy_demo import deploy_demo  # scripts/ is not a package

if __name__ == "__main__":
    deploy_demo()
