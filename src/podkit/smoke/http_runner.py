"""`[[smoke]]` HTTP tests against a load-balancing endpoint: each request sent cold, then warm,
its status, JSON body and latency checked. "no workers available" while workers start is
retried by the client, and that wait counts into the cold latency (a user would wait too)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from podkit.config.smoke import SmokeTest
from podkit.errors import PodkitError
from podkit.runpod.lb_requests import LbClient
from podkit.smoke.runner import Attempt, SmokeResult, expectation_problems


def run_http_smoke(
    client: LbClient,
    tests: Sequence[SmokeTest],
    *,
    warm: bool = True,
    clock: Callable[[], float] = time.monotonic,
) -> list[SmokeResult]:
    """Run every test once cold and (if that passed and `warm`) once warm, in order."""
    results = []
    for test in tests:
        cold = send(client, test, clock)
        failures = [f"cold: {problem}" for problem in check_http(test, cold)]
        second = None
        if warm and not failures:
            second = send(client, test, clock)
            failures += [f"warm: {problem}" for problem in check_http(test, second)]
        results.append(SmokeResult(test.name, cold, second, tuple(failures)))
    return results


def send(client: LbClient, test: SmokeTest, clock: Callable[[], float]) -> Attempt:
    """One request; the latency goes into `execution_ms`, the JSON body into `output`."""
    body = None if test.body is None else json.dumps(test.body).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    started = clock()
    try:
        with client.request(
            test.http_method, test.path or "/", body=body, headers=headers
        ) as answer:
            answer.read()
    except PodkitError as exc:
        return Attempt(None, "NO_ANSWER", None, None, None, exc.message)
    elapsed_ms = int((clock() - started) * 1000)
    try:
        output: Any = answer.json()
    except ValueError:
        output = answer.text
    return Attempt(None, f"HTTP {answer.status_code}", None, elapsed_ms, output)


def check_http(test: SmokeTest, attempt: Attempt) -> list[str]:
    """Everything about one request that does not match the test (empty when it passed)."""
    expected = f"HTTP {test.expect_http_status}"
    if attempt.status != expected:
        why = f": {attempt.error}" if attempt.error else f": {_short(attempt.output)}"
        return [f"{attempt.status}, expected {expected}{why}"]
    problems = []
    limit = test.max_latency
    if (
        limit is not None
        and attempt.execution_ms is not None
        and attempt.execution_ms > limit * 1000
    ):
        problems.append(f"took {attempt.execution_ms / 1000:.2f} s, over max_latency {limit:g} s")
    return problems + expectation_problems(test, attempt.output, "body")


def _short(output: Any) -> str:
    text = output if isinstance(output, str) else json.dumps(output)
    return text[:200]
