"""What a final job state means for the user: an exit code and a message with the next step.

Exit codes (the `podkit run` / `podkit job wait` contract CI relies on):

| code | meaning |
|------|---------|
| 0    | COMPLETED (or, with `--async`, queued) |
| 1    | podkit error or usage error: bad input, refused key, unknown endpoint, job expired |
| 3    | FAILED: the handler raised or returned an error |
| 4    | TIMED_OUT: execution timeout or TTL reached |
| 5    | CANCELLED |
| 6    | gave up waiting (`--timeout`); the job still runs remotely |
| 130  | interrupted (Ctrl-C) |
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from podkit.runpod.job_types import Job, JobStatus

EXIT_COMPLETED = 0
EXIT_FAILED = 3
EXIT_TIMED_OUT = 4
EXIT_CANCELLED = 5
EXIT_STILL_RUNNING = 6
EXIT_INTERRUPTED = 130

EXIT_CODES = {
    JobStatus.COMPLETED: EXIT_COMPLETED,
    JobStatus.FAILED: EXIT_FAILED,
    JobStatus.TIMED_OUT: EXIT_TIMED_OUT,
    JobStatus.CANCELLED: EXIT_CANCELLED,
}

EXECUTION_TIMEOUT_SETTING = "`execution_timeout` under [endpoint] in podkit.toml"


@dataclass(frozen=True)
class Outcome:
    """A final job state as the CLI reports it."""

    status: JobStatus
    exit_code: int
    message: str
    hint: str | None = None


def exit_code(job: Job) -> int:
    """The exit code for a final job state (see the module table)."""
    return EXIT_CODES.get(job.status, EXIT_STILL_RUNNING)


def outcome(job: Job, endpoint_id: str, *, started: bool | None = None) -> Outcome:
    """Explain a final job: what happened and, when it did not complete, what to change.

    `started` says whether a worker ever picked the job up (seen IN_PROGRESS, or it has an
    execution time); a job that timed out without starting outlived its TTL in the queue.
    """
    code = exit_code(job)
    timing = timings(job)
    if job.status is JobStatus.COMPLETED:
        return Outcome(job.status, code, f"job {job.id} COMPLETED{timing}")
    if job.status is JobStatus.CANCELLED:
        return Outcome(job.status, code, f"job {job.id} was CANCELLED{timing}")
    if job.status is JobStatus.FAILED:
        return Outcome(
            job.status,
            code,
            f"job {job.id} FAILED on endpoint {endpoint_id}{timing}: {error_text(job.error)}",
            hint="see the worker's log with `podkit logs`; fix the input or the handler",
        )
    ran = bool(job.execution_time) if started is None else started
    if not ran:
        return Outcome(
            job.status,
            code,
            f"job {job.id} TIMED_OUT in the queue of endpoint {endpoint_id}{timing}: no worker "
            "picked it up before its TTL ran out",
            hint="raise the job TTL (podkit run --ttl, policy.ttl) or check capacity with "
            "`podkit health`",
        )
    return Outcome(
        job.status,
        code,
        f"job {job.id} TIMED_OUT on endpoint {endpoint_id}{timing}: it ran longer than the "
        "endpoint's execution timeout",
        hint=f"raise {EXECUTION_TIMEOUT_SETTING} and `podkit apply`, or this job's own limit "
        "with `podkit run --execution-timeout` (policy.executionTimeout)",
    )


def timings(job: Job) -> str:
    """` (queue 1.2 s, execution 3.4 s)`, or empty when the server reported neither."""
    parts = []
    if job.delay_time is not None:
        parts.append(f"queue {seconds(job.delay_time)}")
    if job.execution_time is not None:
        parts.append(f"execution {seconds(job.execution_time)}")
    return f" ({', '.join(parts)})" if parts else ""


def seconds(milliseconds: int | float) -> str:
    """Milliseconds as a short human duration: `850 ms`, `3.4 s`, `12 min 5 s`."""
    if milliseconds < 1000:
        return f"{int(milliseconds)} ms"
    total = milliseconds / 1000
    if total < 120:
        return f"{total:.1f} s"
    minutes, rest = divmod(int(total), 60)
    return f"{minutes} min {rest} s"


def error_text(error: Any) -> str:
    """A job's `error` field (a string, or an object from the SDK) as one line."""
    if error is None:
        return "no error message"
    if isinstance(error, str):
        try:
            parsed = json.loads(error)
        except ValueError:
            return error.strip().splitlines()[0] if error.strip() else "empty error message"
        error = parsed
    if isinstance(error, dict):
        for key in ("error_message", "message", "error"):
            if isinstance(error.get(key), str):
                return str(error[key])
    return json.dumps(error, default=str)[:500]
