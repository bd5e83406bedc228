"""Final job states -> exit codes and messages that name the setting to change."""

from __future__ import annotations

from podkit.runpod.job_outcome import error_text, exit_code, outcome, seconds
from podkit.runpod.job_types import Job


def _job(status: str, **fields: object) -> Job:
    return Job.model_validate({"id": "j1", "status": status, **fields})


def test_each_final_state_has_its_own_exit_code() -> None:
    codes = {s: exit_code(_job(s)) for s in ("COMPLETED", "FAILED", "TIMED_OUT", "CANCELLED")}
    assert codes["COMPLETED"] == 0
    assert len(set(codes.values())) == 4
    assert 1 not in codes.values() and 2 not in codes.values()


def test_timed_out_while_running_names_the_execution_timeout_setting() -> None:
    result = outcome(_job("TIMED_OUT", delayTime=300, executionTime=600_000), "ep1")
    assert "execution timeout" in result.message and "ep1" in result.message
    assert result.hint is not None
    assert "execution_timeout" in result.hint and "--execution-timeout" in result.hint


def test_timed_out_in_the_queue_names_the_ttl() -> None:
    result = outcome(_job("TIMED_OUT", delayTime=10_000), "ep1", started=False)
    assert "queue" in result.message
    assert result.hint is not None and "--ttl" in result.hint


def test_failed_quotes_the_worker_error() -> None:
    error = '{"error_type": "ValueError", "error_message": "unknown action \'x\'"}'
    result = outcome(_job("FAILED", error=error), "ep1")
    assert "unknown action 'x'" in result.message
    assert error_text("Traceback line one\nline two") == "Traceback line one"


def test_durations_read_well() -> None:
    assert [seconds(850), seconds(3400), seconds(725_000)] == ["850 ms", "3.4 s", "12 min 5 s"]
