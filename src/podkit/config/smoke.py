"""`[[smoke]]`: calls made against a freshly applied release to prove it works."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from podkit.config.types import Seconds, Section

JobStatus = Literal["COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"]
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class SmokeTest(Section):
    """One smoke test: a job `input` (queue endpoints) or an HTTP request `path`
    (load-balancing endpoints), and checks on the answer.

    `expect` maps dotted output paths (`gpus.0.name`, `status`) to the value they must
    equal; `expect_keys` lists dotted paths that must merely exist. For an HTTP test the
    output is the JSON body, `expect_http_status` the status it must answer with and
    `max_latency` a bound on the whole request.
    """

    name: str = Field(min_length=1, max_length=80)
    input: dict[str, Any] | None = None
    expect_status: JobStatus = "COMPLETED"
    expect: dict[str, Any] = Field(default_factory=dict)
    expect_keys: list[str] = Field(default_factory=list)
    max_execution: Seconds = Field(default=300.0, gt=0, le=86400)
    method: HttpMethod | None = None
    path: str | None = Field(default=None, pattern=r"^/\S*$")
    body: Any = None
    expect_http_status: int = Field(default=200, ge=100, le=599)
    max_latency: Seconds | None = Field(default=None, gt=0, le=330)

    @model_validator(mode="after")
    def _one_kind(self) -> SmokeTest:
        if (self.input is None) == (self.path is None):
            raise ValueError(
                "give either input (a job, for a queue endpoint) or path (an HTTP request, "
                'for a load_balancer endpoint), e.g. path = "/ping"'
            )
        return self

    @property
    def is_http(self) -> bool:
        """An HTTP request to a load-balancing endpoint (rather than a queued job)."""
        return self.path is not None

    @property
    def http_method(self) -> str:
        return self.method or ("GET" if self.body is None else "POST")
