"""After an apply on a local RunPod: run the project's own worker (`[local] worker_command`).

The local RunPod has no image to start, so it runs podkit's worker unless an endpoint names
another command (`PUT /_emulator/endpoints/{id}/worker-command`). This sets the command of
podkit.toml, in the directory of podkit.toml, on every apply and rollback: the same request
each time (idempotent; unchanged, the workers stay), and again on an endpoint a rollback
recreated. RunPod itself runs the image's `CMD`; nothing is sent there.
"""

from __future__ import annotations

from podkit.config.local import LocalWorker
from podkit.deploy.executor import Progress, silent
from podkit.errors import DeployError, PodkitError
from podkit.redact import public_url
from podkit.runpod import RunPodClient

ADMIN_PATH = "/_emulator/endpoints/{id}/worker-command"


def set_local_worker(
    client: RunPodClient,
    endpoint_id: str,
    worker: LocalWorker | None,
    *,
    progress: Progress = silent,
) -> bool:
    """Point the endpoint's local workers at `worker`; False where nothing was sent (no
    `[local] worker_command`, or the target is RunPod itself)."""
    if worker is None or not client.target.is_local:
        return False
    path = ADMIN_PATH.format(id=endpoint_id)
    body = {"command": list(worker.command), "cwd": str(worker.cwd)}
    try:
        response = client.http.request("PUT", path, json=body)
    except PodkitError as exc:
        raise _not_set(client, endpoint_id, exc.message) from exc
    if not response.is_success:
        raise _not_set(client, endpoint_id, f"{response.status_code}: {_said(response.text)}")
    progress(f"local RunPod: the workers of {endpoint_id} run {worker.describe()}")
    return True


def _not_set(client: RunPodClient, endpoint_id: str, why: str) -> DeployError:
    origin = public_url(client.target.control_v2)
    return DeployError(
        f"[local] worker_command was not set on endpoint {endpoint_id} at {origin} ({why}); "
        "the endpoint is applied, its workers run the local RunPod's default worker",
        hint="point --target (PODKIT_TARGET) at a local RunPod (`podkit emulator start`), "
        "then apply again; against RunPod itself the image's CMD runs and [local] is ignored",
    )


def _said(text: str) -> str:
    return " ".join(text.split())[:200] or "no message"
