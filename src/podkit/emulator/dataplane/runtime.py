"""What the data plane knows of an endpoint.

The control plane announces endpoints as `podkit.emulator.runtime.EndpointSpec`;
`wiring.ControlPlaneBridge` turns each into an `EndpointRuntime`, the only shape the jobs
backend and the supervisor see (tests and benchmarks build them directly).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


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
    worker_cwd: Path | None = None  # the endpoint's own worker directory, if it has one
    gpu_type: str | None = None
    gpu_count: int = 1  # 0: a CPU endpoint (no nvidia-smi stand-in)
    version: int | None = None  # workers started under an older version are replaced
