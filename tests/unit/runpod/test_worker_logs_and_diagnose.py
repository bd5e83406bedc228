"""SSE framing of worker logs and the crash-loop diagnosis (pure)."""

from __future__ import annotations

from podkit.runpod.diagnose import WorkerView, diagnose
from podkit.runpod.job_types import EndpointHealth
from podkit.runpod.worker_logs import LogLine, parse_sse, restarts


def test_sse_frames_skip_comments_and_drop_a_partial_tail() -> None:
    raw = [
        ": keep-alive",
        "id: 2026-06-01T12:05:04Z/000000000042",
        'data: {"ts":"2026-06-01T12:05:04Z","source":"container","line":"Worker ready."}',
        "",
        "data: second",
        "",
        "id: 3",
        "data: never finished",
    ]
    assert list(parse_sse(raw)) == [
        (
            "2026-06-01T12:05:04Z/000000000042",
            '{"ts":"2026-06-01T12:05:04Z","source":"container","line":"Worker ready."}',
        ),
        (None, "second"),
    ]


def _health(queued: int, **workers: int) -> EndpointHealth:
    return EndpointHealth.model_validate({"jobs": {"inQueue": queued}, "workers": workers})


def test_queued_jobs_with_restarting_workers_are_called_a_crash_loop() -> None:
    workers = [WorkerView("w1", "INITIALIZING", 2), WorkerView("w2", "UNHEALTHY", 1)]
    findings = diagnose(_health(3), workers, {"w1": 4, "w2": 0})
    assert len(findings) == 1
    assert "crash-looping" in findings[0] and "not missing capacity" in findings[0]
    assert "w1, w2" in findings[0] and "podkit logs --worker w1" in findings[0]


def test_throttled_workers_mean_missing_capacity_not_a_crash() -> None:
    findings = diagnose(_health(2), [WorkerView("w1", "THROTTLED")], {"w1": 1})
    assert len(findings) == 1
    assert "THROTTLED" in findings[0] and "crash" not in findings[0]


def test_a_healthy_endpoint_has_no_findings() -> None:
    assert diagnose(_health(0, idle=1), [WorkerView("w1", "IDLE", 30)], {}) == []
    assert diagnose(_health(0, idle=1, running=1), None) == []


def test_restarts_count_container_starts_in_system_lines() -> None:
    lines = [
        LogLine("w1", "t", "system", "start container"),
        LogLine("w1", "t", "container", "start container"),  # the app's own words do not count
        LogLine("w1", "t", "system", "remove container"),
        LogLine("w1", "t", "system", "Start container"),
    ]
    assert restarts(lines) == 2
