"""Validation messages name the field, say what was wrong, and show the fix."""

from __future__ import annotations

import re

import pytest

from podkit.emulator.backend import parse_spec
from podkit.emulator.backend.faults import FaultPlan
from podkit.emulator.openapi import V1, V2, load
from podkit.emulator.openapi.messages import object_form
from podkit.emulator.openapi.responses import response_problems

SCALING = {"type": "QUEUE_DELAY", "queueDelay": 4}


def messages(doc: str, method: str, path: str, body: object) -> list[str]:
    return [v.message for v in load(doc).check_request(method, path, body)]


def test_env_array_names_env_and_shows_the_object_form() -> None:
    body = {"name": "t", "image": "i", "env": [{"key": "A", "value": "1"}, "B=2"]}
    (msg,) = messages(V2, "POST", "/v2/templates", body)
    assert msg.startswith("$.env: must be an object of string values")
    assert msg.endswith('send {"A": "...", "B": "..."} instead')


@pytest.mark.parametrize(
    ("doc", "path", "body"),
    [
        (V2, "/v2/templates", {"name": "t", "image": "i", "env": ["TOKEN=canary-7f3a"]}),
        (V2, "/v2/templates", {"name": "t", "image": "i", "env": {"TOKEN": 7031977}}),
        (V2, "/v2/templates", {"name": "t", "image": "i", "env": {"TOKEN": ["canary-7f3a"]}}),
        (V2, "/v2/registries", {"name": "r", "username": "u", "password": ["canary-7f3a"]}),
        (V2, "/v2/registries", {"name": "r", "username": ["canary-7f3a"], "password": "p"}),
        (V1, "/containerregistryauth", {"name": "r", "username": "u", "password": 7031977}),
        (
            V1,
            "/templates",
            {"name": "t", "imageName": "i", "env": [{"key": "T", "value": "canary-7f3a"}]},
        ),
    ],
)
def test_env_values_and_credentials_are_never_quoted_back(
    doc: str, path: str, body: dict[str, object]
) -> None:
    msgs = messages(doc, "POST", path, body)
    assert msgs, "the body should break the schema"
    assert not [m for m in msgs if "canary-7f3a" in m or "7031977" in m]
    assert all(m.startswith("$.") for m in msgs)  # each still names the field


def test_unknown_field_suggests_the_right_name() -> None:
    body = {"name": "n", "type": "QUEUE", "scaling": SCALING, "image": "i",
            "gpu": {"pools": ["ADA_24"], "cuont": 1}, "workersMax": 3}  # fmt: skip
    msgs = messages(V2, "POST", "/v2/serverless", body)
    assert "$.gpu: additional properties 'cuont' not allowed; did you mean 'count'?" in msgs
    assert (
        "$: additional properties 'workersMax' not allowed; this API calls it 'workers.max'" in msgs
    )
    assert len(msgs) == 2  # properties that are declared are never reported as unknown


def test_bad_enum_lists_the_allowed_values() -> None:
    (msg,) = messages(V2, "POST", "/v2/network-volumes",
                      {"name": "v", "size": 10, "dataCenter": "X", "type": "FAST"})  # fmt: skip
    assert msg == '$.type: "FAST" is not one of the allowed values: STANDARD, HIGH_PERFORMANCE'


def test_missing_template_id_in_v1() -> None:
    (msg,) = messages(V1, "POST", "/endpoints", {"name": "e"})
    assert msg.startswith("$: missing required property 'templateId'")
    assert "POST /v1/templates" in msg


def test_object_form_only_for_convertible_arrays() -> None:
    assert object_form(["A=1", {"key": "B", "value": 2}]) == {"A": "1", "B": "2"}
    assert object_form(["no-equals-sign"]) is None


def test_response_check_catches_a_broken_response() -> None:
    good = b'{"id": "a", "name": "b", "size": 10, "dataCenter": "US-KS-2", "type": "STANDARD"}'
    assert response_problems("GET", "/v2/network-volumes/a", 200, "application/json", good) == []
    bad = b'{"id": "a", "name": "b", "size": 10, "dataCenter": "US-KS-2"}'
    (problem,) = response_problems("GET", "/v2/network-volumes/a", 200, "application/json", bad)
    assert "missing required property 'type'" in problem
    assert response_problems("POST", "/v1/templates", 201, "application/json", b"{}")
    assert response_problems("POST", "/v2/abc/run", 200, "application/json", b"{}") == []


def test_fault_spec_and_seeded_dice() -> None:
    rule = parse_spec("POST /v2/*:429=0.25,5xx=0.5,latency=0.1,retry-after=3")
    assert (rule.pattern, rule.rate_429, rule.rate_5xx, rule.retry_after_s) == (
        "POST /v2/*",
        0.25,
        0.5,
        3,
    )
    assert rule.matches("POST", "/v2/serverless") and not rule.matches("GET", "/v2/serverless")
    plan_a, plan_b = FaultPlan(rules=[rule]), FaultPlan(rules=[rule])
    draws_a = [plan_a.decide("POST", "/v2/x").action for _ in range(50)]
    assert draws_a == [plan_b.decide("POST", "/v2/x").action for _ in range(50)]
    assert {"429", "5xx", None} == set(draws_a)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("POST /v2/*:429=2", "429=2 in 'POST /v2/*:429=2' is a rate: use 0 to 1"),
        ("POST /v2/*:drop=-0.1", "is a rate: use 0 to 1"),
        ("POST /v2/*:latency=fast", "latency='fast' in 'POST /v2/*:latency=fast' must be a number"),
        ("POST /v2/*:retry-after=1.5", "retry-after='1.5'"),
        ("POST /v2/*:status=404", "status=404 in 'POST /v2/*:status=404' must be a 5xx code"),
        ("POST /v2/*:latency=-1", "latency=-1 in 'POST /v2/*:latency=-1' must not be negative"),
    ],
)
def test_a_bad_fault_spec_names_the_setting_and_what_is_allowed(spec: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        parse_spec(spec)
