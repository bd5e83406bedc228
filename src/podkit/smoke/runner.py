"""Run `[[smoke]]` tests against an endpoint and check each call (cold, then warm)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from podkit.config.smoke import SmokeTest
from podkit.errors import JobError
from podkit.runpod.job_outcome import error_text, seconds
from podkit.runpod.job_types import Job, JobPolicy
from podkit.runpod.jobs import JobsClient, ProgressCallback

# The data plane refuses execution timeouts under 5 s; a shorter max_execution is still
# checked against the measured execution time.
MIN_POLICY_TIMEOUT_MS = 5_000
_MISSING: Any = object()


@dataclass(frozen=True)
class Attempt:
    """One call of a smoke test: the final job as the data plane reported it."""

    job_id: str | None
    status: str
    delay_ms: int | None
    execution_ms: int | None
    output: Any = None
    error: str | None = None

    @classmethod
    def from_job(cls, job: Job) -> Attempt:
        error = None if job.error is None else error_text(job.error)
        return cls(job.id, job.status.value, job.delay_time, job.execution_time, job.output, error)

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "status": self.status,
            "delay_ms": self.delay_ms,
            "execution_ms": self.execution_ms,
            "error": self.error,
        }


@dataclass(frozen=True)
class SmokeResult:
    """A smoke test's cold and warm calls and everything that did not match."""

    name: str
    cold: Attempt | None
    warm: Attempt | None
    failures: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "cold": self.cold.to_json() if self.cold else None,
            "warm": self.warm.to_json() if self.warm else None,
            "failures": list(self.failures),
        }


def run_smoke(
    client: JobsClient,
    tests: Sequence[SmokeTest],
    *,
    warm: bool = True,
    wait_timeout: float | None = 1800.0,
    on_update: Callable[[SmokeTest, str], ProgressCallback | None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[SmokeResult]:
    """Run every test once cold and (if that passed and `warm`) once warm, in order.

    `on_update(test, "cold"|"warm")` may return a progress callback for that call.
    """
    results = []
    for test in tests:
        cold = _call(client, test, wait_timeout, on_update(test, "cold") if on_update else None)
        failures = [f"cold: {problem}" for problem in check(test, cold)]
        second = None
        if warm and not failures:
            callback = on_update(test, "warm") if on_update else None
            second = _call(client, test, wait_timeout, callback)
            failures += [f"warm: {problem}" for problem in check(test, second)]
        results.append(SmokeResult(test.name, cold, second, tuple(failures)))
    return results


def _call(
    client: JobsClient,
    test: SmokeTest,
    wait_timeout: float | None,
    on_update: ProgressCallback | None,
) -> Attempt:
    limit_ms = max(MIN_POLICY_TIMEOUT_MS, int(test.max_execution * 1000))
    try:
        job = client.execute(
            test.input or {},
            policy=JobPolicy(execution_timeout=limit_ms),
            timeout=wait_timeout,
            on_update=on_update,
        )
    except JobError as exc:
        # Expired or still running when podkit gave up: a failed call, not a crash.
        return Attempt(getattr(exc, "job_id", None), "NOT_FINISHED", None, None, None, exc.message)
    return Attempt.from_job(job)


def check(test: SmokeTest, attempt: Attempt) -> list[str]:
    """Everything about one call that does not match the test (empty when it passed)."""
    problems = []
    if attempt.status != test.expect_status:
        why = f": {attempt.error}" if attempt.error else ""
        problems.append(f"status {attempt.status}, expected {test.expect_status}{why}")
        return problems
    limit_ms = test.max_execution * 1000
    if attempt.execution_ms is not None and attempt.execution_ms > limit_ms:
        problems.append(
            f"execution took {seconds(attempt.execution_ms)}, over max_execution "
            f"{seconds(limit_ms)}"
        )
    return problems + expectation_problems(test, attempt.output, "output")


def expectation_problems(test: SmokeTest, output: Any, noun: str) -> list[str]:
    """What `expect_keys` and `expect` find wrong in `output` (the job's output, a body)."""
    problems = []
    for path in test.expect_keys:
        if lookup(output, path) is _MISSING:
            problems.append(f"{noun} has no {path!r}")
    for path, expected in test.expect.items():
        actual = lookup(output, path)
        if actual is _MISSING:
            problems.append(f"{noun} has no {path!r} (expected {expected!r})")
        elif actual != expected:
            problems.append(f"{noun} {path!r} is {actual!r}, expected {expected!r}")
    return problems


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path (`gpus.0.name`); a private sentinel when absent."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit():
            index = int(part)
            if not -len(current) <= index < len(current):
                return _MISSING
            current = current[index]
        else:
            return _MISSING
    return current
