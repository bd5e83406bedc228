"""`[[smoke]]`: calls made against a freshly applied release to prove it works."""

from __future__ import annotations

import json
import re
from typing import Any, Literal
from urllib.parse import unquote

from pydantic import Field, ValidationInfo, field_validator

from podkit.config.types import Seconds, Section

JobStatus = Literal["COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
_SEGMENT_SPLIT = re.compile(r"[/\\]")


def has_dot_segment(path: str) -> bool:
    """Whether a request path holds a `.` or `..` segment (percent-encoded too): joined to an
    endpoint's URL it would climb out of the endpoint's own prefix. The query is not looked at."""
    route = path.partition("?")[0].partition("#")[0]
    return any(part in (".", "..") for part in _SEGMENT_SPLIT.split(unquote(route)))


class SmokeTest(Section):
    """One smoke test: a job `input` (queue endpoints) or an HTTP request `path`
    (load-balancing endpoints), and checks on the answer.

    `expect` maps dotted output paths (`gpus.0.name`, `status`) to the value they must
    equal; `expect_keys` lists dotted paths that must merely exist. For an HTTP test the
    output is the JSON body, `expect_http_status` the status it must answer with and
    `max_latency` a bound on the whole request.
    """

    name: str = Field(min_length=1, max_length=80)
    # An HTTP request (load balancer); declared before `input` so its check can see `path`.
    method: HttpMethod | None = None
    path: str | None = Field(default=None, pattern=r"^/\S*$")
    body: Any = None
    expect_http_status: int = Field(default=200, ge=100, le=599)
    max_latency: Seconds | None = Field(default=None, gt=0, le=330)
    input: dict[str, Any] | None = Field(default=None, validate_default=True)
    expect_status: JobStatus = "COMPLETED"
    expect: dict[str, Any] = Field(default_factory=dict)
    expect_keys: list[str] = Field(default_factory=list)
    max_execution: Seconds = Field(default=300.0, gt=0, le=86400)

    @field_validator("input")
    @classmethod
    def _one_kind(cls, value: dict[str, Any] | None, info: ValidationInfo) -> Any:
        has_path = info.data.get("path") is not None
        if value is None and not has_path:
            raise ValueError(
                "is missing: a smoke test is a job (queue endpoint) or an HTTP request "
                '(load_balancer endpoint); add input = { action = "gpu_info" }, or '
                'path = "/ping"'
            )
        if value is not None and has_path:
            raise ValueError("and path are both set; keep input for a job, path for a request")
        return value

    @field_validator("path")
    @classmethod
    def _stays_on_the_endpoint(cls, value: str | None) -> str | None:
        if value is not None and has_dot_segment(value):
            raise ValueError(
                "has a '.' or '..' segment, which would leave the endpoint's own URL; write "
                "the path the worker serves without them"
            )
        return value

    @field_validator("input", "body", "expect")
    @classmethod
    def _json_values(cls, value: Any) -> Any:
        """What is sent (input, body) or compared with a JSON answer (expect) must be JSON:
        TOML's dates and times, nan and inf have no JSON form."""
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            raise ValueError(
                "must be JSON values: no dates, times, nan or inf; write a date or time as "
                'text in quotes ("1979-05-27T07:32:00Z") and numbers as finite numbers'
            ) from None
        return value

    @property
    def is_http(self) -> bool:
        """An HTTP request to a load-balancing endpoint (rather than a queued job)."""
        return self.path is not None

    @property
    def http_method(self) -> str:
        return self.method or ("GET" if self.body is None else "POST")
