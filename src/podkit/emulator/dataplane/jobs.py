"""The job model: states, per-job policy, the status body clients read, seedable ids."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MISSING: Any = object()

MIN_EXECUTION_TIMEOUT_MS = 5_000
MIN_TTL_MS = 10_000
MAX_POLICY_MS = 7 * 24 * 3600 * 1000


class JobStatus(StrEnum):
    """The states a job moves through."""

    IN_QUEUE = "IN_QUEUE"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"


FINAL_STATES = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.TIMED_OUT}
)


class PolicyError(ValueError):
    """A `policy` field of a run/runsync body is out of range or of the wrong type."""


@dataclass(frozen=True)
class JobPolicy:
    """Per-job `policy`: execution timeout and TTL in ms, low priority."""

    execution_timeout_ms: int
    ttl_ms: int
    low_priority: bool = False


def _ms_field(raw: dict[str, Any], key: str, default: int, minimum: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(f"policy.{key} must be an integer number of milliseconds")
    if not minimum <= value <= MAX_POLICY_MS:
        raise PolicyError(
            f"policy.{key} is {value} ms; it must lie between {minimum} and {MAX_POLICY_MS} ms"
        )
    return value


def parse_policy(raw: object, *, execution_timeout_ms: int, ttl_ms: int) -> JobPolicy:
    """Validate a request's `policy` object; missing keys take the endpoint's defaults."""
    if raw is None:
        return JobPolicy(execution_timeout_ms, ttl_ms)
    if not isinstance(raw, dict):
        raise PolicyError('policy must be an object like {"executionTimeout": 60000}')
    unknown = set(raw) - {"executionTimeout", "ttl", "lowPriority"}
    if unknown:
        raise PolicyError(
            f"policy has unknown field(s) {sorted(unknown)}; "
            "allowed: executionTimeout, ttl, lowPriority"
        )
    low = raw.get("lowPriority", False)
    if not isinstance(low, bool):
        raise PolicyError("policy.lowPriority must be true or false")
    return JobPolicy(
        execution_timeout_ms=_ms_field(
            raw, "executionTimeout", execution_timeout_ms, MIN_EXECUTION_TIMEOUT_MS
        ),
        ttl_ms=_ms_field(raw, "ttl", ttl_ms, MIN_TTL_MS),
        low_priority=low,
    )


@dataclass
class Job:
    """One job and everything the platform remembers about it."""

    id: str
    endpoint_id: str
    input: Any
    policy: JobPolicy
    submitted_at: float
    sync: bool = False
    webhook: str | None = None
    s3_config: Any = None
    status: JobStatus = JobStatus.IN_QUEUE
    worker_id: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    output: Any = MISSING
    error: str | None = None
    stream: list[Any] = field(default_factory=list)
    stream_read: int = 0
    retries: int = 0
    crash_requeues: int = 0

    @property
    def final(self) -> bool:
        """Whether the job reached a final state."""
        return self.status in FINAL_STATES

    def worker_payload(self) -> dict[str, Any]:
        """The job as job-take hands it to a worker."""
        payload: dict[str, Any] = {"id": self.id, "input": self.input}
        if self.webhook is not None:
            payload["webhook"] = self.webhook
        if self.s3_config is not None:
            payload["s3Config"] = self.s3_config
        return payload

    def status_body(self) -> dict[str, Any]:
        """The job as `/status`, `/runsync` and webhooks return it."""
        body: dict[str, Any] = {"id": self.id, "status": str(self.status)}
        if self.started_at is not None:
            body["delayTime"] = _ms(self.started_at - self.submitted_at)
        if self.started_at is not None and self.finished_at is not None:
            body["executionTime"] = _ms(self.finished_at - self.started_at)
        if self.output is not MISSING:
            body["output"] = self.output
        if self.error is not None:
            body["error"] = self.error
        if self.worker_id is not None:
            body["workerId"] = self.worker_id
        if self.retries:
            body["retries"] = self.retries
        return body


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


class IdFactory:
    """Job and worker ids shaped like the platform's; seeded for reproducible tests."""

    _ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)

    def job_id(self, *, sync: bool = False) -> str:
        """A UUID with the platform's `-u1` suffix (`sync-` prefix for runsync)."""
        raw = uuid.UUID(int=self._rng.getrandbits(128), version=4)
        return f"{'sync-' if sync else ''}{raw}-u1"

    def worker_id(self) -> str:
        """A 14-character lowercase id like a serverless worker's pod id."""
        return "".join(self._rng.choice(self._ALPHABET) for _ in range(14))
