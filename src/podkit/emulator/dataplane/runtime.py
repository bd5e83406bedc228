"""The seam between the control plane and the data plane.

The control plane's backend announces each endpoint's create/update/delete through an
`EndpointListener`; the data plane (jobs, workers) only ever sees an `EndpointRuntime`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class EndpointRuntime:
    """What the data plane needs to know about one serverless endpoint."""

    endpoint_id: str
    account: str
    workers_min: int = 0
    workers_max: int = 3
    idle_timeout_s: float = 5.0
    execution_timeout_ms: int = 600_000
    env: Mapping[str, str] = field(default_factory=dict)
    volume_dir: Path | None = None
    worker_command: Sequence[str] | None = None
    gpu_type: str | None = None
    gpu_count: int = 1  # 0: a CPU endpoint (no nvidia-smi stand-in)
    version: int | None = None  # workers started under an older version are replaced


class EndpointListener(Protocol):
    """Told by the control plane about every endpoint change."""

    def endpoint_changed(self, runtime: EndpointRuntime) -> None:
        """An endpoint was created or updated."""

    def endpoint_deleted(self, endpoint_id: str) -> None:
        """An endpoint was deleted."""
