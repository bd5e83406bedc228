"""The local RunPod's state: plain per-account records, `reset()`, seedable ids, one lock.

The HTTP facades (v2, v1, data plane) only translate; every platform rule lives here.
"""

from __future__ import annotations

from podkit.emulator.backend.catalog import Catalog
from podkit.emulator.backend.core import DEFAULT_QUOTA, QUOTA_TEXT
from podkit.emulator.backend.endpoints import EndpointsMixin
from podkit.emulator.backend.errors import BackendError
from podkit.emulator.backend.faults import FaultPlan, RouteFault, parse_spec
from podkit.emulator.backend.state import Account, Quirks


class Backend(EndpointsMixin):
    """All accounts of one local RunPod. Thread-safe; every public method takes the API key.

    Test controls: `set_quota`, `catalog.set_availability` / `set_pool_price`, `quirks.*`,
    `faults.add(...)`, `set_worker_command`, `reset(seed=...)`.
    """


__all__ = [
    "DEFAULT_QUOTA",
    "QUOTA_TEXT",
    "Account",
    "Backend",
    "BackendError",
    "Catalog",
    "FaultPlan",
    "Quirks",
    "RouteFault",
    "parse_spec",
]
