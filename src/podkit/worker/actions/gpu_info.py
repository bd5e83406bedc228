"""`gpu_info`: prove the GPU is there. Raw `nvidia-smi` text plus structured fields."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

from podkit.errors import WorkerActionError
from podkit.worker import mounts, nvidia_smi
from podkit.worker.paths import VOLUME_ROOT
from podkit.worker.registry import ActionContext, NoInput, action

TIMEOUT_S = 30.0
# Where the worker runs; only these names are read, so no secret in the env can leak.
LOCATION_ENV = {
    "RUNPOD_POD_ID": "pod_id",
    "RUNPOD_POD_HOSTNAME": "pod_hostname",
    "RUNPOD_DC_ID": "datacenter",
    "RUNPOD_GPU_COUNT": "gpu_count",
    "RUNPOD_CPU_COUNT": "cpu_count",
    "RUNPOD_MEM_GB": "memory_gb",
    "RUNPOD_ENDPOINT_ID": "endpoint_id",
    "RUNPOD_GPU_NAME": "gpu_name",
    "RUNPOD_VOLUME_ID": "volume_id",
    "RUNPOD_PUBLIC_IP": "public_ip",
    "CUDA_VERSION": "image_cuda_version",
    "NVIDIA_VISIBLE_DEVICES": "visible_devices",
}
NO_DRIVER = "no NVIDIA driver visible in this container (nvidia-smi not found)"


async def run_nvidia_smi(*args: str, timeout: float = TIMEOUT_S) -> tuple[int, str, str]:
    """Run nvidia-smi; a missing binary or a hang becomes a `WorkerActionError`."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        raise WorkerActionError(
            NO_DRIVER, hint="run on a GPU worker; locally this is expected with no GPU"
        )
    try:
        proc = await asyncio.create_subprocess_exec(
            exe, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    except OSError as exc:  # there, but not a program this container can run
        raise WorkerActionError(
            f"nvidia-smi could not be started ({exc.strerror or exc})",
            hint="check the NVIDIA driver the container sees (nvidia-smi on PATH must run)",
        ) from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        raise WorkerActionError(
            f"nvidia-smi did not answer within {timeout:.0f} s",
            hint="the driver may be hung; recycle this worker",
        ) from None
    finally:  # timed out, or the job was cancelled: no nvidia-smi is left behind
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")


def worker_location(env: dict[str, str] | None = None) -> dict[str, str]:
    """The RunPod location variables that are set, under friendly names."""
    env = dict(os.environ) if env is None else env
    return {key: env[name] for name, key in LOCATION_ENV.items() if env.get(name)}


def volume_state(env: dict[str, str] | None = None) -> dict[str, Any]:
    """Whether the network volume directory is there, and on what kind of filesystem."""
    env = dict(os.environ) if env is None else env
    real = env.get("PODKIT_VOLUME_DIR") or VOLUME_ROOT
    try:
        mounted = Path(real).is_dir()
    except OSError:  # a name too long, no permission: not a volume this worker can use
        mounted = False
    state: dict[str, Any] = {"path": VOLUME_ROOT, "mounted": mounted}
    if mounted:
        state.update(mounts.describe(os.path.realpath(real), mounts.read_mounts()))
    return state


@action("gpu_info")
async def gpu_info(params: NoInput, ctx: ActionContext) -> dict[str, Any]:
    """The raw nvidia-smi table, per-GPU fields, driver/CUDA versions, location, volume."""
    (rc, plain, err), (qrc, query, qerr) = await asyncio.gather(
        run_nvidia_smi(), run_nvidia_smi(*nvidia_smi.QUERY_ARGS)
    )
    if rc != 0:
        raise WorkerActionError(
            nvidia_smi.summarise_failure(rc, plain, err),
            hint="the container sees nvidia-smi but not a working driver/GPU; recycle the worker",
        )
    gpus = nvidia_smi.parse_query(query) if qrc == 0 else []
    result: dict[str, Any] = {
        "status": "success",
        "gpu_info": plain,
        "gpus": gpus,
        "gpu_count": len(gpus),
        "driver_version": nvidia_smi.driver_version(plain)
        or next((g["driver_version"] for g in gpus if g.get("driver_version")), None),
        "cuda_version": nvidia_smi.cuda_version(plain),
        "worker": worker_location(),
        "volume": volume_state(),
    }
    if qrc != 0:
        result["warnings"] = [nvidia_smi.summarise_failure(qrc, query, qerr)]
    return result
