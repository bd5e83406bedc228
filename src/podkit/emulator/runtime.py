"""The seam between the control plane and whatever runs workers (the data plane's supervisor).

The backend tells an `EndpointListener` about every endpoint create, update and delete with an
`EndpointSpec` carrying everything needed to run that endpoint's workers locally. The HTTP
layer asks a `WorkerView` for the workers and their log lines behind `/v2/serverless/{id}/workers`
and `/logs`. Both default to no-ops, so the control plane runs on its own.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

DEFAULT_WORKER_COMMAND: tuple[str, ...] = (sys.executable, "-m", "podkit.worker")


def account_id(api_key: str) -> str:
    """The account an API key stands for. Stored instead of the key, so no state holds a secret."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class EndpointSpec:
    """What a worker supervisor needs to run one endpoint's workers."""

    endpoint_id: str
    account_id: str  # `account_id(key)` of the owner; compare, never print keys
    version: int  # the endpoint's configuration version (workers older than it are stale)
    workers_min: int
    workers_max: int
    idle_timeout_s: int
    execution_timeout_ms: int
    image: str
    env: Mapping[str, str]
    start_command: tuple[str, ...]  # the template's start command (informational locally)
    # Network volume id -> its local directory (the worker's /runpod-volume, first one wins).
    volume_dirs: Mapping[str, Path] = field(default_factory=dict)
    worker_command: tuple[str, ...] = DEFAULT_WORKER_COMMAND
    worker_cwd: Path | None = None  # where the command runs (None: the local RunPod's choice)
    gpu_count: int = 1
    endpoint_type: str = "QUEUE"

    @property
    def volume_dir(self) -> Path | None:
        """The directory to export as `PODKIT_VOLUME_DIR`, if a volume is attached."""
        return next(iter(self.volume_dirs.values()), None)


class EndpointListener(Protocol):
    """Told about endpoint changes, after the change is committed (never under the lock)."""

    def endpoint_upserted(self, spec: EndpointSpec) -> None: ...

    def endpoint_deleted(self, endpoint_id: str) -> None: ...


class NullListener:
    """The default: nothing runs workers."""

    def endpoint_upserted(self, spec: EndpointSpec) -> None:
        return None

    def endpoint_deleted(self, endpoint_id: str) -> None:
        return None


@dataclass(frozen=True)
class WorkerInfo:
    """One live worker, as `/v2/serverless/{id}/workers` lists it."""

    id: str
    status: str  # RUNNING | IDLE | INITIALIZING | THROTTLED | UNHEALTHY
    version: int | None
    started_at: float | None  # epoch seconds
    image: str | None = None
    gpu_count: int = 1


@dataclass(frozen=True)
class LogLine:
    """One worker log line; `seq` increases per worker so a stream can resume after it."""

    seq: int
    ts: float  # epoch seconds
    source: str  # container | system
    line: str


class WorkerView(Protocol):
    """Read-only view of the workers the supervisor runs."""

    def workers(self, endpoint_id: str) -> list[WorkerInfo]: ...

    def logs(self, endpoint_id: str, worker_id: str) -> list[LogLine] | None:
        """All retained lines of a worker, oldest first; None if the worker is unknown."""
        ...


class NoWorkers:
    """The default view: no workers anywhere."""

    def workers(self, endpoint_id: str) -> list[WorkerInfo]:
        return []

    def logs(self, endpoint_id: str, worker_id: str) -> list[LogLine] | None:
        return None
