"""HTTP smoke tests: what makes a request pass or fail (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from podkit.config.smoke import SmokeTest
from podkit.smoke.http_runner import check_http
from podkit.smoke.runner import Attempt


def smoke_test(**fields: Any) -> SmokeTest:
    return SmokeTest.model_validate({"name": "t", "path": "/v1/models", **fields})


def answer(status: int, output: Any, ms: int = 10) -> Attempt:
    return Attempt(None, f"HTTP {status}", None, ms, output)


def test_a_matching_answer_passes() -> None:
    smoke = smoke_test(expect={"data.0.id": "m"}, expect_keys=["object"], max_latency="1s")
    assert check_http(smoke, answer(200, {"object": "list", "data": [{"id": "m"}]})) == []


def test_each_mismatch_is_named() -> None:
    smoke = smoke_test(expect={"data.0.id": "m", "x": 1}, expect_keys=["object"], max_latency="1s")
    problems = check_http(smoke, answer(200, {"data": [{"id": "n"}]}, ms=1500))
    assert problems == [
        "took 1.50 s, over max_latency 1 s",
        "body has no 'object'",
        "body 'data.0.id' is 'n', expected 'm'",
        "body has no 'x' (expected 1)",
    ]


def test_a_wrong_status_says_what_came_back() -> None:
    problems = check_http(smoke_test(), answer(503, {"error": "no workers available"}))
    assert problems == ['HTTP 503, expected HTTP 200: {"error": "no workers available"}']
    assert check_http(smoke_test(expect_http_status=404), answer(404, "nope")) == []


def test_method_defaults_to_post_with_a_body() -> None:
    assert smoke_test().http_method == "GET"
    assert smoke_test(body={"a": 1}).http_method == "POST"
    assert smoke_test(method="PUT", body={"a": 1}).http_method == "PUT"


@pytest.mark.parametrize(
    "fields",
    [{"input": {"action": "x"}}, {"path": "no-slash"}, {"path": None}],
)
def test_a_test_is_either_a_job_or_a_request(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SmokeTest.model_validate({"name": "t", "path": "/ping", **fields})
