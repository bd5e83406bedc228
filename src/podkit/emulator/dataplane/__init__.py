"""The local serverless data plane: jobs, HTTP routes, the worker protocol, worker processes.

Layers (moto-style): `backend` holds plain state; `routes` (client API) and `worker_routes`
(what the `runpod` SDK calls) translate HTTP; `supervisor` runs the worker processes;
`plane.DataPlane` composes them and listens to the control plane through `runtime`.
"""

from podkit.emulator.dataplane.backend import JobsBackend, JobsError
from podkit.emulator.dataplane.jobs import FINAL_STATES, Job, JobStatus
from podkit.emulator.dataplane.plane import DataPlane
from podkit.emulator.dataplane.runtime import EndpointRuntime
from podkit.emulator.dataplane.settings import DataPlaneSettings
from podkit.emulator.dataplane.wiring import routes

__all__ = [
    "FINAL_STATES",
    "DataPlane",
    "DataPlaneSettings",
    "EndpointRuntime",
    "Job",
    "JobStatus",
    "JobsBackend",
    "JobsError",
    "routes",
]
