"""`make demo`: the main job, against the local RunPod.

The README's tour on examples/gpu-worker: plan, apply --wait --smoke, gpu_info and
list_files on the new endpoint, an image update (gated), rollback, status, destroy.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploy_demo import deploy_demo  # scripts/ is not a package

if __name__ == "__main__":
    deploy_demo()
