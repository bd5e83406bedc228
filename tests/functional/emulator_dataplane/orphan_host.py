"""Serves a data plane whose one worker is a silent sleeper, prints the worker's pid, then
waits to be killed. Run as a subprocess by test_cleanup.py (never imported by pytest).

The sleeper never logs or polls, so nothing but the kernel's parent-death signal ends it:
a real SDK worker would also die of its broken log pipe.
"""

import sys
import time
from pathlib import Path

from tests.functional.emulator_dataplane.harness import serve_dataplane, wait_until

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]

if __name__ == "__main__":
    with serve_dataplane(Path(sys.argv[1])) as served:
        served.endpoint("orphan", workers_min=1, workers_max=1, worker_command=SLEEPER)
        (worker_id,) = wait_until(lambda: served.plane.supervisor.live_worker_ids("orphan"))
        process = served.plane.supervisor.process(worker_id)
        assert process is not None
        print(process.pid, flush=True)
        time.sleep(120)
