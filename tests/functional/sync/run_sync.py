"""Run one sync in its own process (for kill -9 and two-worker tests).

Usage: python -m tests.functional.sync.run_sync '<json>' with keys entries, volume, env,
options; prints the report as JSON on stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from podkit._http import RetryPolicy
from podkit.config.models import ModelSource
from podkit.worker.transfer import Progress, SyncOptions, sync_models


def _print_progress(progress: Progress) -> None:
    print(json.dumps({"progress": progress.as_dict()}), flush=True)


def main() -> None:
    spec = json.loads(sys.argv[1])
    options = dict(spec.get("options", {}))
    options["retry"] = RetryPolicy(attempts=6, base_delay=0.05, max_delay=0.5)
    report = sync_models(
        [ModelSource.model_validate(e) for e in spec["entries"]],
        Path(spec["volume"]),
        options=SyncOptions(**options),
        progress=_print_progress if spec.get("progress") else None,
        env=spec.get("env", {}),
    )
    print(json.dumps(report.as_dict()))


if __name__ == "__main__":
    main()
