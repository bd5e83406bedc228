"""Mutable wiring shared by the routes: the worker view the data plane plugs in later."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from podkit.emulator.runtime import NoWorkers, WorkerView


class Startable(Protocol):
    """Something the server starts once it listens (the data plane's worker supervisor)."""

    def start(self, origin: str) -> None: ...

    def close(self) -> None: ...


@dataclass
class Context:
    """What routes read at request time (so the data plane can be wired after the app)."""

    worker_view: WorkerView = field(default_factory=NoWorkers)
    dataplane: Startable | None = None
    # The data plane's `DataPlaneSettings` (its timers and limits), read when it is wired;
    # None = the platform's defaults. Typed loosely: this layer does not import the data plane.
    dataplane_settings: object | None = None
    # The load balancer's `LoadBalancerSettings` (its waits and limits); None = the platform's.
    loadbalancer_settings: object | None = None
    # Where queue workers run (relative worker commands resolve there); None = the current dir.
    worker_cwd: Path | None = None
