"""The expression subset the workflow tests evaluate, with GitHub's semantics."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gha.expressions import condition, evaluate, interpolate
from tests.gha.runner import parse_file_commands

ROUTE = "github.event_name == 'release' && 'production' || inputs.environment || 'staging'"


@pytest.mark.parametrize(
    ("event", "inputs", "expected"),
    [
        ("push", {}, "staging"),
        ("release", {}, "production"),
        ("workflow_dispatch", {"environment": "production"}, "production"),
        ("workflow_dispatch", {"environment": "staging"}, "staging"),
    ],
)
def test_the_environment_route(event: str, inputs: dict[str, Any], expected: str) -> None:
    assert evaluate(ROUTE, {"github": {"event_name": event}, "inputs": inputs}) == expected


def test_comparisons_ignore_case_and_missing_paths_are_null() -> None:
    ctx = {"inputs": {"action": "Rollback"}}
    assert evaluate("inputs.action == 'rollback'", ctx) is True
    assert evaluate("inputs.missing == null", ctx) is True
    assert evaluate("!inputs.missing", ctx) is True


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("inputs.missing != ''", False),  # null and '' both become 0
        ("inputs.missing == 0", True),
        ("'' == 0", True),
        ("'1' == 1", True),
        ("' 2.5 ' == 2.5", True),
        ("true == 1", True),
        ("false == ''", True),
        ("'abc' == 0", False),
        ("'abc' != 'ABC'", False),
        ("inputs.missing != 'rollback'", True),
        ("'NaN' == 'NaN'", True),  # two strings compare as strings
        ("'x' == 'x' && 'y' != 0", True),
    ],
)
def test_loose_equality_coerces_mixed_types_to_numbers(expr: str, expected: bool) -> None:
    assert evaluate(expr, {"inputs": {}}) is expected


def test_interpolation_and_quoted_quotes() -> None:
    ctx = {"steps": {"build": {"outputs": {"digest": "sha256:ab"}}}}
    assert interpolate("x@${{ steps.build.outputs.digest }}", ctx) == "x@sha256:ab"
    assert evaluate("'it''s'", {}) == "it's"


def test_if_without_a_status_call_needs_success() -> None:
    failed = {"success": lambda: False, "always": lambda: True, "cancelled": lambda: False}
    assert condition("true", {}, failed) is False
    assert condition("${{ !cancelled() && 'x' != 'skipped' }}", {}, failed) is True
    assert condition(None, {}, failed) is False


def test_file_commands_with_heredocs() -> None:
    text = "a=1\nb<<EOF\nline 1\nline 2\nEOF\nc=x=y\n"
    assert parse_file_commands(text) == {"a": "1", "b": "line 1\nline 2", "c": "x=y"}
