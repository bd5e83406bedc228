"""Typed models of the serverless data plane: jobs, their states, endpoint health.

The wire names are camelCase (`delayTime`, `executionTime`, `workerId`); the models expose
snake_case and keep unknown fields, because the data plane has no published schema and adds
fields over time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from podkit.runpod.types._common import is_object_id, shown_id


class JobStatus(StrEnum):
    """A job's state on the data plane."""

    IN_QUEUE = "IN_QUEUE"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"

    @property
    def terminal(self) -> bool:
        """True for the four states a job never leaves."""
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.TIMED_OUT}
)

# Documented as a synonym of IN_PROGRESS; accepted so a client never fails on it.
_STATUS_ALIASES = {"RUNNING": JobStatus.IN_PROGRESS}


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow", frozen=True)


class Job(_Wire):
    """One job as `/run`, `/runsync`, `/status`, `/cancel` and `/retry` return it.

    `delay_time` is the time spent in the queue and `execution_time` the time on a worker,
    both in milliseconds. While IN_PROGRESS, `output` holds the latest `progress_update`.
    """

    id: str
    status: JobStatus
    delay_time: int | None = Field(default=None, alias="delayTime")
    execution_time: int | None = Field(default=None, alias="executionTime")
    output: Any = None
    error: Any = None
    worker_id: str | None = Field(default=None, alias="workerId")

    @field_validator("status", mode="before")
    @classmethod
    def _alias_status(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _STATUS_ALIASES.get(value.upper(), value.upper())
        return value

    @field_validator("id")
    @classmethod
    def _an_id(cls, value: str) -> str:
        if not is_object_id(value):  # the next poll puts it into a URL path
            raise ValueError(f"the job id {shown_id(value)} is not an id")
        return value

    @property
    def terminal(self) -> bool:
        """True once the job reached a final state."""
        return self.status.terminal

    def to_wire(self) -> dict[str, Any]:
        """The job as the data plane spells it (camelCase, no unset fields)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class StreamChunk(_Wire):
    """One `/stream/{id}` poll: the job's state and the chunks produced since the last poll."""

    status: JobStatus
    stream: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("status", mode="before")
    @classmethod
    def _alias_status(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _STATUS_ALIASES.get(value.upper(), value.upper())
        return value

    def outputs(self) -> list[Any]:
        """The chunks' `output` values, in order."""
        return [item.get("output") for item in self.stream]


class JobCounts(_Wire):
    """The endpoint's job counters from `/health`."""

    completed: int = 0
    failed: int = 0
    in_progress: int = Field(default=0, alias="inProgress")
    in_queue: int = Field(default=0, alias="inQueue")
    retried: int = 0


class EndpointHealth(_Wire):
    """`/health`: job counters and worker counts by state (an open-ended map)."""

    jobs: JobCounts = Field(default_factory=JobCounts)
    workers: dict[str, int] = Field(default_factory=dict)


# What the data plane takes in a job's policy, in seconds (outside it answers 400).
TTL_RANGE_S = (10.0, 7 * 86400.0)
EXECUTION_TIMEOUT_RANGE_S = (5.0, 7 * 86400.0)


@dataclass(frozen=True)
class JobPolicy:
    """The per-job `policy` of `/run` and `/runsync`, all durations in milliseconds."""

    execution_timeout: int | None = None
    ttl: int | None = None
    low_priority: bool | None = None

    def to_wire(self) -> dict[str, Any]:
        """The policy as the data plane spells it (unset fields left out)."""
        wire = {
            "executionTimeout": self.execution_timeout,
            "ttl": self.ttl,
            "lowPriority": self.low_priority,
        }
        return {key: value for key, value in wire.items() if value is not None}
