"""One load-balancing worker: its process, its ports and what its health path last said."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from podkit.emulator.dataplane.process import WorkerProcess
from podkit.emulator.runtime import DEFAULT_WORKER_COMMAND, EndpointSpec

DEFAULT_HEALTH_PATH = "/ping"
HTTP_FLAG = "--http"
# Host variables that must not leak into a worker (the user's own keys and targets).
_DROP_PREFIXES = ("RUNPOD_", "PODKIT_")


class Health(StrEnum):
    """What the health path said last: 204 initializing, 200 ready, anything else unhealthy."""

    INITIALIZING = "initializing"
    READY = "ready"
    UNHEALTHY = "unhealthy"


@dataclass
class LbWorker:
    """A worker process serving HTTP on `port` (health on `health_port`)."""

    id: str
    version: int
    process: WorkerProcess
    port: int
    health_port: int
    health_path: str
    health: Health = Health.INITIALIZING
    detail: str = "starting"
    inflight: int = 0
    last_used: float = 0.0
    was_ready: bool = False
    stopping_since: float | None = None
    probed_at: float = 0.0
    ended_at: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}{self.health_path}"

    @property
    def routable(self) -> bool:
        return self.health is Health.READY and self.stopping_since is None


@dataclass
class Pool:
    """The workers of one endpoint, its waiting requests and its restart backoff."""

    live: dict[str, LbWorker] = field(default_factory=dict)
    ended: dict[str, LbWorker] = field(default_factory=dict)
    waiting: int = 0
    failed_starts: int = 0
    next_spawn_at: float = 0.0
    last_error: str | None = None


def free_port() -> int:
    """A loopback port free right now (the worker binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def health_path(spec: EndpointSpec) -> str:
    path = spec.env.get("HEALTH_CHECK_PATH") or DEFAULT_HEALTH_PATH
    return path if path.startswith("/") else f"/{path}"


def ports_for(spec: EndpointSpec) -> tuple[int, int]:
    """(PORT, PORT_HEALTH) for one local worker: every worker gets free ports of its own,
    and a separate health port only when the endpoint's env asks for one."""
    port = free_port()
    separate = spec.env.get("PORT_HEALTH") not in (None, "", spec.env.get("PORT", "80"))
    return port, free_port() if separate else port


def command_for(spec: EndpointSpec) -> list[str]:
    """The endpoint's worker command; podkit's own worker runs in HTTP mode."""
    command = list(spec.worker_command)
    if tuple(command) == DEFAULT_WORKER_COMMAND:
        command.append(HTTP_FLAG)
    return command


def worker_env(
    spec: EndpointSpec,
    worker_id: str,
    ports: tuple[int, int],
    *,
    shim_dir: Path | None = None,
    host_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """What a load-balancing worker sees: host basics, the endpoint's env, platform vars."""
    host = dict(os.environ if host_env is None else host_env)
    env = {k: v for k, v in host.items() if not k.startswith(_DROP_PREFIXES)}
    env.update(spec.env)
    env.update(
        PORT=str(ports[0]),
        PORT_HEALTH=str(ports[1]),
        HEALTH_CHECK_PATH=health_path(spec),
        RUNPOD_POD_ID=worker_id,
        RUNPOD_POD_HOSTNAME=f"{worker_id}-local",
        RUNPOD_ENDPOINT_ID=spec.endpoint_id,
        RUNPOD_GPU_COUNT=str(spec.gpu_count),
        PYTHONUNBUFFERED="1",
        PODKIT_HTTP_HOST="127.0.0.1",  # podkit's HTTP worker: loopback only, locally
    )
    if spec.volume_dir is not None:
        env["PODKIT_VOLUME_DIR"] = str(spec.volume_dir)
    if shim_dir is not None:
        env["PATH"] = os.pathsep.join([str(shim_dir), env.get("PATH", os.defpath)])
        env["PODKIT_EMULATED_GPU"] = "1"
    return env
