"""Drive `sync_models` on a deployed endpoint: `/run`, then poll `/status` (never `runsync`,
whose wait is capped far below a long sync).

This is the seam between `podkit models sync` and the data-plane client: it speaks the
data plane through `podkit._http` (targets: `runpod`, `local`, or an origin, from `--target`
or PODKIT_TARGET; the key from RUNPOD_API_KEY, never shown).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from podkit._http import HttpClient
from podkit.errors import ApiError, AuthError, ConfigError, JobError

RUNPOD_DATAPLANE_URL = "https://api.runpod.ai/v2"
RUNPOD_CONTROL_ORIGIN = "https://api.runpod.io"
DEFAULT_LOCAL_URL = "http://127.0.0.1:8765"
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}


def _origin(target: str | None, env: Mapping[str, str]) -> str | None:
    """The one origin serving every API for `target`; None for the real RunPod hosts."""
    name = (target or env.get("PODKIT_TARGET") or "runpod").strip()
    if name == "runpod":
        return None
    if name == "local":
        return (env.get("PODKIT_LOCAL_URL") or DEFAULT_LOCAL_URL).rstrip("/")
    if name.startswith(("http://", "https://")):
        return name.rstrip("/")
    raise ConfigError(
        f"unknown target {name!r} (from --target or PODKIT_TARGET)",
        hint="use `runpod`, `local` or an http(s):// origin such as http://127.0.0.1:8765",
    )


def dataplane_url(target: str | None, env: Mapping[str, str]) -> str:
    origin = _origin(target, env)
    return RUNPOD_DATAPLANE_URL if origin is None else f"{origin}/v2"


def execution_timeout_s(
    endpoint_id: str, target: str | None, env: Mapping[str, str] | None = None
) -> float | None:
    """The endpoint's execution timeout (v2 `timeout`, ms) in seconds; None if unknown."""
    environment = os.environ if env is None else env
    origin = _origin(target, environment) or RUNPOD_CONTROL_ORIGIN
    headers = {"Authorization": f"Bearer {_api_key(environment)}"}
    with HttpClient(origin, headers=headers, timeout=30) as client:
        answer = client.request("GET", f"/v2/serverless/{endpoint_id}")
    if answer.status_code != 200:
        return None
    timeout_ms = answer.json().get("timeout")
    return float(timeout_ms) / 1000 if isinstance(timeout_ms, int | float) else None


def _api_key(env: Mapping[str, str]) -> str:
    key = (env.get("RUNPOD_API_KEY") or "").strip()
    if not key:
        raise AuthError(
            "RUNPOD_API_KEY is not set",
            hint="export RUNPOD_API_KEY=... (any non-empty key works against the local RunPod)",
        )
    return key


def run_remote(
    job_input: dict[str, Any],
    *,
    endpoint_id: str,
    target: str | None,
    on_progress: Callable[[dict[str, Any]], None],
    poll_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Submit the job, relay IN_PROGRESS outputs, return the COMPLETED output (or raise)."""
    environment = os.environ if env is None else env
    base = dataplane_url(target, environment)
    headers = {"Authorization": f"Bearer {_api_key(environment)}"}
    with HttpClient(base, headers=headers, timeout=60) as client:
        body = {"input": {"action": "sync_models", **job_input}}
        answer = client.request("POST", f"/{endpoint_id}/run", json=body)
        _check(answer.status_code, answer.text, f"POST /{endpoint_id}/run")
        job_id = str(answer.json()["id"])
        seq = 0
        while True:
            status = client.request("GET", f"/{endpoint_id}/status/{job_id}")
            _check(status.status_code, status.text, f"GET /{endpoint_id}/status/{job_id}")
            body = status.json()
            state = body.get("status")
            output = body.get("output")
            if state in TERMINAL:
                return _finish(state, body, job_id, endpoint_id)
            fresh = isinstance(output, dict) and output.get("kind") == "sync_models"
            if fresh and int(output.get("seq", 0)) > seq:  # updates may arrive out of order
                seq = int(output.get("seq", 0))
                on_progress(output)
            sleep(poll_s)


def _check(status: int, text: str, what: str) -> None:
    if status < 400:
        return
    if status in (401, 403):
        raise AuthError(f"{what}: the API key was refused ({status})", status=status)
    raise ApiError(f"{what} answered {status}: {text[:200]}", status=status)


def _finish(state: str, body: dict[str, Any], job_id: str, endpoint_id: str) -> dict[str, Any]:
    if state == "COMPLETED":
        output = body.get("output")
        return output if isinstance(output, dict) else {"status": "ok", "output": output}
    if state == "TIMED_OUT":
        raise JobError(
            f"sync job {job_id} on endpoint {endpoint_id} hit the execution timeout",
            hint="re-run `podkit models sync` (verified chunks are kept) or raise the "
            "endpoint's executionTimeoutMs",
        )
    raise JobError(
        f"sync job {job_id} on endpoint {endpoint_id} {state.lower()}: {body.get('error', '')}",
        hint="see `podkit logs` for the worker's side",
    )
