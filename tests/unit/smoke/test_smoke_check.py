"""Smoke expectations and the Markdown summary (pure, no I/O)."""

from __future__ import annotations

from typing import Any

from podkit.config import SmokeTest
from podkit.smoke import Attempt, SmokeResult, check
from podkit.smoke.report import markdown


def _test(**fields: Any) -> SmokeTest:
    return SmokeTest.model_validate({"name": "gpu", "input": {"action": "gpu_info"}, **fields})


def _attempt(status: str = "COMPLETED", output: Any = None, execution_ms: int = 800) -> Attempt:
    return Attempt("j1", status, 1200, execution_ms, output, None)


def test_matching_output_passes() -> None:
    test = _test(expect={"gpus.0.name": "H200", "count": 1}, expect_keys=["driver"])
    output = {"gpus": [{"name": "H200"}], "count": 1, "driver": "560"}
    assert check(test, _attempt(output=output)) == []


def test_each_mismatch_is_named() -> None:
    test = _test(
        expect={"gpus.0.name": "H200", "gpus.3.name": "x"},
        expect_keys=["driver"],
        max_execution="1s",
    )
    output = {"gpus": [{"name": "A100"}]}
    problems = check(test, _attempt(output=output, execution_ms=2500))
    assert problems == [
        "execution took 2.5 s, over max_execution 1.0 s",
        "output has no 'driver'",
        "output 'gpus.0.name' is 'A100', expected 'H200'",
        "output has no 'gpus.3.name' (expected 'x')",
    ]


def test_wrong_status_quotes_the_error_and_stops() -> None:
    attempt = Attempt("j1", "FAILED", 10, 20, None, "unknown action 'gpu_infoo'")
    assert check(_test(expect={"a": 1}), attempt) == [
        "status FAILED, expected COMPLETED: unknown action 'gpu_infoo'"
    ]
    assert check(_test(expect_status="FAILED"), attempt) == []


def test_markdown_has_cold_and_warm_columns_and_failures() -> None:
    results = [
        SmokeResult("gpu", _attempt(), Attempt("j2", "COMPLETED", 40, 300, None)),
        SmokeResult("files | list", _attempt(), None, ("cold: output has no 'entries'",)),
    ]
    text = markdown(results, "ep1")
    assert "| test | result | cold queue | cold exec | warm queue | warm exec |" in text
    assert "| gpu | :white_check_mark: pass | 1.2 s | 800 ms | 40 ms | 300 ms |" in text
    assert "files \\| list" in text
    assert "- `files \\| list`: cold: output has no 'entries'" in text
    assert "2 smoke tests: 1 passed, 1 failed" in text
