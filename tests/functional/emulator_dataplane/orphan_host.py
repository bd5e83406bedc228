"""Serves a data plane whose one worker is a silent sleeper that forks a second sleeper (as the
SDK forks its heartbeat), prints the worker's process group id, then waits to be killed. Run as
a subprocess by test_cleanup.py (never imported by pytest).

The sleepers never log or poll, so nothing but the worker's init ends them.
"""

import sys
import time
from pathlib import Path

from tests.functional.emulator_dataplane.harness import serve_dataplane, wait_until

SLEEPER = [sys.executable, "-c", "import os, time; os.fork(); time.sleep(60)"]

if __name__ == "__main__":
    with serve_dataplane(Path(sys.argv[1])) as served:
        served.endpoint("orphan", workers_min=1, workers_max=1, worker_command=SLEEPER)
        (worker_id,) = wait_until(lambda: served.plane.supervisor.live_worker_ids("orphan"))
        process = served.plane.supervisor.process(worker_id)
        assert process is not None
        print(process.pid, flush=True)
        time.sleep(120)
