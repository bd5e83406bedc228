"""The environment a worker process starts with: host basics, template env, platform vars."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote_plus

from podkit.emulator.dataplane.gpu_shim import gpu_spec
from podkit.emulator.dataplane.runtime import EndpointRuntime

DEFAULT_COMMAND = (sys.executable, "-m", "podkit.worker")
# Host variables that must not leak into a worker: the user's own keys and targets, and any
# platform variable the emulator sets itself.
_DROP_PREFIXES = ("RUNPOD_", "PODKIT_")


def webhook_urls(origin: str, endpoint_id: str, gpu: str) -> dict[str, str]:
    """The `RUNPOD_WEBHOOK_*` templates with the SDK's `$ID` / `$RUNPOD_POD_ID` placeholders."""
    base = f"{origin.rstrip('/')}/_worker/{endpoint_id}"
    query = f"?gpu={quote_plus(gpu)}"
    return {
        "RUNPOD_WEBHOOK_GET_JOB": f"{base}/job-take/$ID{query}",
        "RUNPOD_WEBHOOK_POST_OUTPUT": f"{base}/job-done/$RUNPOD_POD_ID/$ID{query}",
        "RUNPOD_WEBHOOK_POST_STREAM": f"{base}/job-stream/$RUNPOD_POD_ID/$ID{query}",
        "RUNPOD_WEBHOOK_PING": f"{base}/ping/$RUNPOD_POD_ID{query}",
    }


def worker_env(
    runtime: EndpointRuntime,
    *,
    origin: str,
    worker_id: str,
    token: str,
    ping_interval_ms: int,
    shim_dir: Path | None,
    home: Path | None = None,
    host_env: Mapping[str, str] | None = None,
    workdir: Path | None = None,
) -> dict[str, str]:
    """Everything a worker sees: what the platform would set wins over the template's env."""
    host = dict(os.environ if host_env is None else host_env)
    env = {k: v for k, v in host.items() if not k.startswith(_DROP_PREFIXES)}
    env.update(runtime.env)
    gpu = str(gpu_spec(runtime.gpu_type)["name"])
    env.update(webhook_urls(origin, runtime.endpoint_id, gpu))
    env.update(
        RUNPOD_AI_API_KEY=token,
        RUNPOD_POD_ID=worker_id,
        RUNPOD_POD_HOSTNAME=f"{worker_id}-local",
        RUNPOD_ENDPOINT_ID=runtime.endpoint_id,
        RUNPOD_GPU_COUNT=str(runtime.gpu_count),
        # The SDK sleeps and times out in whole seconds (ms // 1000): below 1000 ms it crashes.
        RUNPOD_PING_INTERVAL=str(max(1000, ping_interval_ms)),
        RUNPOD_SKIP_AUTO_SYSTEM_CHECKS="true",
        RUNPOD_SKIP_GPU_CHECK="true",
        PYTHONUNBUFFERED="1",
    )
    # The worker's directory (the local RunPod's, or --worker-cwd) stands for the image's
    # WORKDIR: a project's `PODKIT_ACTIONS=handler` imports its handler.py from there even
    # when the worker command is a script elsewhere or a safe-path interpreter.
    where = str(workdir or Path.cwd())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [where, env.get("PYTHONPATH")]))
    if runtime.volume_dir is not None:
        env["PODKIT_VOLUME_DIR"] = str(runtime.volume_dir)
    if home is not None:
        env["HOME"] = str(home)
    if shim_dir is not None:
        env["PATH"] = os.pathsep.join([str(shim_dir), env.get("PATH", os.defpath)])
        env["PODKIT_EMULATED_GPU"] = "1"
    return env
